// The `rotor` program: dispatches to the registered subcommands (see command.h).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <new>
#include <stdexcept>
#include <string>

#include "rotor/cli/command.h"
#include "rotor/core/error.h"
#include "rotor/core/threads.h"

namespace rotor::cli {

namespace {
struct Entry {
  std::string description;
  CommandSetup setup;
};
std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry> commands;
  return commands;
}
}  // namespace

bool register_command(const std::string& name, const std::string& description, CommandSetup setup) {
  registry()[name] = Entry{description, std::move(setup)};
  return true;
}

const CLI::Validator positive(
    [](std::string& text) -> std::string {
      long long v = 0;
      size_t used = 0;
      try {
        v = std::stoll(text, &used);
      } catch (const std::out_of_range&) {
        return "'" + text + "' is too large";
      } catch (const std::exception&) {
        used = 0;
      }
      return used == text.size() && used > 0 && v >= 1 ? "" : "must be a whole number >= 1, got '" + text + "'";
    },
    "POSITIVE");

void add_threads_option(CLI::App& cmd, int& threads) {
  cmd.add_option("--threads", threads, "threads to use (default: $ROTOR_NUM_THREADS or all cores)")
      ->check(positive);
  cmd.preparse_callback([&threads](size_t) { threads = 0; });
  cmd.parse_complete_callback([&threads] { rotor::set_num_threads(threads); });
}

// OpenMP's default wait policy spins a finished thread for ~300k iterations before it sleeps. When another
// process keeps the second vCPU busy, that spinning steals the core from the thread doing the work, and
// 2-thread runs become several times slower than 1 thread. rotor's default is a short spin
// (kDefaultSpinCount, measured in the README's "OpenMP wait policy"); a user's OMP_WAIT_POLICY or
// GOMP_SPINCOUNT wins.
// libgomp reads the environment once, when it is loaded, before main(): so the default is put into the
// environment and the program re-executes itself once. Where that is impossible (no /proc), it runs on
// with OpenMP's own default.
constexpr const char* kDefaultSpinCount = "1000";

void apply_default_wait_policy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  if (setenv("GOMP_SPINCOUNT", kDefaultSpinCount, 1) != 0 || setenv("ROTOR_DEFAULT_SPINCOUNT", "1", 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv("GOMP_SPINCOUNT");  // exec failed: this process's OpenMP already runs with its own default
  unsetenv("ROTOR_DEFAULT_SPINCOUNT");
}

}  // namespace rotor::cli

int main(int argc, char** argv) {
  rotor::cli::apply_default_wait_policy(argv);
  CLI::App app{"rotor: machine learning on the CPU (transformers, tree ensembles, tokenizers, word2vec)", "rotor"};
  app.require_subcommand(1, 1);
  app.set_help_all_flag("--help-all", "show help for every subcommand");
  app.set_version_flag("--version", "rotor 0.1.0");
  try {
    rotor::set_num_threads(0);
    for (auto& [name, entry] : rotor::cli::registry()) {
      CLI::App* sub = app.add_subcommand(name, entry.description);
      entry.setup(*sub);
    }
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "rotor: error: %s (see rotor --help)\n", e.what());
    return 2;
  } catch (const rotor::Interrupted& e) {
    std::fprintf(stderr, "rotor: error: %s\n", e.what());
    return e.exit_code();
  } catch (const rotor::Error& e) {
    std::fprintf(stderr, "rotor: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "rotor: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rotor: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
