#include "rotor/cli/table_options.h"

#include "rotor/core/error.h"

namespace rotor::cli {

void TableArgs::add_to(CLI::App& cmd, bool with_weights) {
  cmd.add_option("--format", format, "data format: auto (by extension), csv, libsvm")
      ->check(CLI::IsMember({"auto", "csv", "libsvm"}));
  cmd.add_option("--label-column", label_column, "CSV: 0-based label column (-1: none)");
  cmd.add_option("--header", header, "CSV header line: auto, yes, no")->check(CLI::IsMember({"auto", "yes", "no"}));
  if (with_weights) {
    cmd.add_option("--weight-column", weight_column, "CSV: 0-based column of sample weights");
    cmd.add_option("--weights", weights_file, "file with one sample weight per line");
  }
}

io::TableOptions TableArgs::options() const {
  io::TableOptions o;
  o.format = format;
  o.label_column = label_column;
  o.weight_column = weight_column;
  o.header = header == "yes" ? io::HeaderMode::kYes : header == "no" ? io::HeaderMode::kNo : io::HeaderMode::kAuto;
  return o;
}

io::Table TableArgs::read(const std::string& path) const {
  io::Table t = io::read_table(path, options());
  if (!weights_file.empty()) {
    ROTOR_CHECK(weight_column < 0, "--weights and --weight-column are exclusive");
    t.weights = io::read_weights_file(weights_file, t.rows);
  }
  return t;
}

}  // namespace rotor::cli
