#include "rotor/cli/dist_data.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include "rotor/core/error.h"
#include "rotor/dist/comm.h"

namespace rotor::cli {

io::Table read_or_report(const TableArgs& args, const std::string& path, std::string& problem) {
  try {
    return args.read(path);
  } catch (const Error& e) {
    problem = e.what();
    return {};
  }
}

io::Table read_rank_rows(const TableArgs& args, const std::string& path, std::string& problem) {
  const size_t at = path.find("%d");
  if (at != std::string::npos) {
    std::string mine = path;
    mine.replace(at, 2, std::to_string(dist::rank()));
    return read_or_report(args, mine, problem);
  }
  io::Table all = read_or_report(args, path, problem);
  if (!problem.empty() || !dist::distributed()) return all;
  const auto [begin, end] = dist::share(all.rows);
  io::Table part;
  part.cols = all.cols;
  part.rows = end - begin;
  part.feature_names = all.feature_names;
  part.source = cat(path, " rows ", begin + 1, "..", end);
  part.values.assign(all.values.begin() + begin * all.cols, all.values.begin() + end * all.cols);
  if (!all.labels.empty()) part.labels.assign(all.labels.begin() + begin, all.labels.begin() + end);
  if (!all.weights.empty()) part.weights.assign(all.weights.begin() + begin, all.weights.begin() + end);
  return part;
}

namespace {
std::string read_cmdline() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

std::string command_line_without(const std::vector<std::string>& options) {
  const std::string text = read_cmdline();
  std::vector<std::string> args;
  for (size_t i = 0; i < text.size();) {
    const size_t end = text.find('\0', i);
    args.push_back(text.substr(i, end == std::string::npos ? std::string::npos : end - i));
    i = end == std::string::npos ? text.size() : end + 1;
  }
  std::string out;
  for (size_t i = 1; i < args.size(); ++i) {
    bool drop = false;
    for (const std::string& o : options) {
      if (args[i] == o) {
        drop = true;
        ++i;  // and its value
        break;
      }
      if (args[i].rfind(o + "=", 0) == 0) drop = true;
    }
    if (drop) continue;
    out += (out.empty() ? "" : " ") + args[i];
  }
  return out;
}

std::string command_line_fingerprint() {
  const std::string text = read_cmdline();
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  char buf[32];
  std::snprintf(buf, sizeof buf, "command line %016llx", static_cast<unsigned long long>(h));
  return buf;
}

void CheckpointArgs::add_to(CLI::App& cmd, const std::string& unit) {
  cmd.add_option("--checkpoint-every", every,
                 "every N " + unit + " rank 0 saves the run so far to OUT.checkpoint (atomically), for --resume")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--resume", resume,
                 "continue the run saved in this checkpoint (same data and options; any number of ranks); the "
                 "result equals the uninterrupted run's");
  cmd.add_option("--stop-at", stop_at, "stop after this many " + unit + ", saving OUT.checkpoint (continue with --resume)")
      ->check(CLI::PositiveNumber);
}

std::string CheckpointArgs::run_config() {
  return command_line_without({"--resume", "--stop-at", "--checkpoint-every", "--threads", "--out"});
}

}  // namespace rotor::cli
