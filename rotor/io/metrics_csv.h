#pragma once
// metrics.csv: one header line, then one row of numbers per logged step, appended as training runs.
//
//   step,train_loss,val_loss,lr
//   100,2.4172,,0.0003        <- an empty field is a missing value (NaN), e.g. no validation this step
//
// Numbers are written in the shortest form that reads back to the same double.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace rotor::io {

class MetricsCsv {
 public:
  // Opens `path` for appending. A missing or empty file gets the header line; an existing file must have
  // exactly this header (else rotor::Error). When keep_rows_up_to is set (resuming from a checkpoint at
  // that step), rows whose first column is greater are removed first (the file is rewritten atomically).
  MetricsCsv(std::string path, std::vector<std::string> columns, std::optional<double> keep_rows_up_to = std::nullopt);
  ~MetricsCsv();
  MetricsCsv(const MetricsCsv&) = delete;
  MetricsCsv& operator=(const MetricsCsv&) = delete;

  // One row, one value per column (NaN for a missing value); written and flushed immediately.
  void append(const std::vector<double>& values);
  const std::vector<std::string>& columns() const { return columns_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::FILE* file_ = nullptr;
};

struct MetricsTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;  // NaN for empty fields
  // The values of one column (throws naming the column when absent).
  std::vector<double> column(const std::string& name) const;
};

// Reads a metrics file written by MetricsCsv; every row must have one field per column.
MetricsTable read_metrics_csv(const std::string& path);

std::string format_number(double value);  // shortest round-trip form; "" for NaN

}  // namespace rotor::io
