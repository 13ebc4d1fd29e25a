#pragma once
// Helpers of the tree commands under `mpirun` (rotor/dist): which rows a rank reads, and the
// check that all ranks run the same command.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "rotor/cli/table_options.h"
#include "rotor/core/error.h"
#include "rotor/dist/comm.h"
#include "rotor/io/atomic_file.h"
#include "rotor/io/table_reader.h"

namespace rotor::cli {

// This rank's training rows. A path with "%d" is a file per rank ("%d" replaced by the rank); any
// other path is read whole and the rank keeps its share of the rows (rotor/dist share()). An error
// reading is returned in `problem` (empty on success) so that all ranks can agree before training.
io::Table read_rank_rows(const TableArgs& args, const std::string& path, std::string& problem);

// Runs `read` and reports its rotor::Error in `problem` instead of throwing.
io::Table read_or_report(const TableArgs& args, const std::string& path, std::string& problem);

// A digest of this process's command line (/proc/self/cmdline): equal on ranks given the same
// configuration.
std::string command_line_fingerprint();

// This process's command line after the program name, without the given options (each "--opt VALUE" or
// "--opt=VALUE"), joined by spaces: how a saved run records the settings a resumed run must repeat.
std::string command_line_without(const std::vector<std::string>& options);

// `--checkpoint-every K`, `--stop-at S` and `--resume FILE` of `rotor boost train` and `rotor forest train`
// (K and S count `unit`s: rounds, trees); the checkpoint goes to OUT.checkpoint, written by rank 0.
struct CheckpointArgs {
  int every = 0, stop_at = 0;
  std::string resume;

  void add_to(CLI::App& cmd, const std::string& unit);
  // The settings a resumed run must repeat: the command line without the options that may change (where
  // the model and checkpoints go, threads, checkpointing).
  static std::string run_config();

  // Every rank reads the checkpoint it continues (a path all ranks can see); an error goes to `problem`.
  template <class Checkpoint>
  Checkpoint read(Checkpoint (*from_json)(const std::string&, const std::string&), std::string& problem) const {
    Checkpoint c;
    if (resume.empty() || !problem.empty()) return c;
    try {
      c = from_json(io::read_file(resume), resume);
      ROTOR_CHECK(c.config == run_config(), resume, " was saved by another command line (", c.config,
                  "); --resume continues a run with the same data and options");
    } catch (const Error& e) {
      problem = e.what();
    }
    return c;
  }

  // The trainer's hooks (every, stop_at, resume, save): rank 0 saves to `path` atomically.
  template <class Hooks, class Checkpoint>
  Hooks hooks(const Checkpoint& resumed, const std::string& path, std::string (*to_json)(const Checkpoint&)) const {
    Hooks h;
    h.every = every;
    h.stop_at = stop_at;
    h.resume = resume.empty() ? nullptr : &resumed;
    h.save = [path, to_json](const Checkpoint& c) {
      if (dist::rank() != 0) return;
      Checkpoint saved = c;
      saved.config = run_config();
      io::write_file_atomic(path, to_json(saved));
    };
    return h;
  }
};

}  // namespace rotor::cli
