#pragma once
// Subcommand registry of the `rotor` program. Each subcommand lives in its own file in rotor/cli and
// registers itself at start-up:
//
//   namespace {
//   void setup(CLI::App& cmd) { ... options ...; cmd.callback([=] { ... }); }
//   const bool registered = rotor::cli::register_command("tokenize", "encode text with BPE", setup);
//   }
//
// Callbacks throw rotor::Error for bad input; main() prints "rotor: error: ..." and exits 1.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace rotor::cli {

using CommandSetup = std::function<void(CLI::App&)>;

bool register_command(const std::string& name, const std::string& description, CommandSetup setup);

// Adds --threads (default: ROTOR_NUM_THREADS or all cores) and applies it before the callback runs.
void add_threads_option(CLI::App& cmd, int& threads);

// Option check for counts (--layers, --batch, --threads ...): a whole number >= 1. Its error reads
// "--batch: must be a whole number >= 1, got '0'" (CLI11's PositiveNumber prints a range up to 1.8e308).
extern const CLI::Validator positive;

}  // namespace rotor::cli
