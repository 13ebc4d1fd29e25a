#pragma once
// Shared `predict` options of the CART-based commands (adaboost, gbm, bagging, stacking):
// --model, --data, --out, the table options (no weights) and --threads.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "rotor/cli/table_options.h"
#include "rotor/io/table_reader.h"

namespace rotor::cli {

struct PredictArgs {
  std::string model, data, out;
  TableArgs table;
  int threads = 0;

  void add_to(CLI::App& cmd, const std::string& model_help, const std::string& out_help);
  // Reads --data in the training layout. A file without the label column (one feature short when read
  // with one) is read again without a label; then the feature count must match the model's. With
  // `complete_for` (a learner's name), a missing value is an error naming its row and column.
  io::Table read(int64_t num_feature, const char* complete_for = nullptr) const;
};

// One prediction line (no newline) from a row of K outputs: P(class 1) when K == 2, else the K values
// comma-separated (%.9g).
std::string prediction_row(const float* row, int K);

}  // namespace rotor::cli
