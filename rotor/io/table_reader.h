#pragma once
// Readers for labelled tabular data: CSV (dense, one label column, optional header, empty/nan/NaN/NA
// cells are missing) and LibSVM/SVMlight (sparse "label [qid:N] index:value ..."; absent = missing).
// Missing values become NaN in Table::values. Malformed input throws rotor::Error naming
// "file:line:column" and the offending text.
#include <cstdint>
#include <string>
#include <vector>

namespace rotor::io {

// A dense row-major feature table with labels and optional per-row weights.
struct Table {
  int64_t rows = 0;
  int64_t cols = 0;                  // number of features (label/weight columns excluded)
  std::vector<float> values;         // [rows, cols], NaN = missing
  std::vector<float> labels;         // [rows]; empty when the file has no label column
  std::vector<float> weights;        // [rows]; empty = all ones
  std::vector<std::string> feature_names;  // from a CSV header; empty otherwise
  std::string source;                // the file name, for messages

  float at(int64_t r, int64_t c) const { return values[static_cast<size_t>(r * cols + c)]; }
};

enum class HeaderMode { kAuto, kYes, kNo };

struct TableOptions {
  std::string format = "auto";  // auto (by extension: .svm/.libsvm/.svmlight -> libsvm), csv, libsvm
  int label_column = 0;         // CSV: 0-based column holding the label; -1 = no label column
  int weight_column = -1;       // CSV: 0-based column holding the weight; -1 = none
  HeaderMode header = HeaderMode::kAuto;  // kAuto: a first line whose cells are all non-numeric
  char delimiter = ',';
  int64_t min_features = 0;     // LibSVM: pad the width to at least this many features
};

Table read_csv(const std::string& path, const TableOptions& options);
Table read_csv_text(const std::string& text, const std::string& name, const TableOptions& options);
Table read_libsvm(const std::string& path, const TableOptions& options);
Table read_libsvm_text(const std::string& text, const std::string& name, const TableOptions& options);
// Chooses the reader from options.format / the file extension.
Table read_table(const std::string& path, const TableOptions& options);

// Reads one weight per line (a "weights file"); its length must equal `rows`.
std::vector<float> read_weights_file(const std::string& path, int64_t rows);

// Checks labels are finite (NaN/inf labels are an error naming the row).
void check_labels_finite(const Table& table);

}  // namespace rotor::io
