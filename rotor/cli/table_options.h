#pragma once
// Shared command-line options for reading labelled tables (CSV / LibSVM) in the tree commands.
#include <CLI/CLI.hpp>

#include <string>

#include "rotor/io/table_reader.h"

namespace rotor::cli {

struct TableArgs {
  std::string format = "auto";
  int label_column = 0;
  int weight_column = -1;
  std::string header = "auto";
  std::string weights_file;

  void add_to(CLI::App& cmd, bool with_weights);
  io::TableOptions options() const;
  // Reads a table; applies --weights FILE when given.
  io::Table read(const std::string& path) const;
};

}  // namespace rotor::cli
