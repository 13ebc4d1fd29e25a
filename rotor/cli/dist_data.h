#pragma once
// Helpers of the tree commands under `mpirun` (rotor/dist): which rows a rank reads, and the
// check that all ranks run the same command.
#include <string>
#include <vector>

#include "rotor/cli/table_options.h"
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

}  // namespace rotor::cli
