#include "rotor/cli/predict_options.h"

#include <cmath>
#include <cstdio>

#include "rotor/cli/command.h"
#include "rotor/core/error.h"

namespace rotor::cli {

void PredictArgs::add_to(CLI::App& cmd, const std::string& model_help, const std::string& out_help) {
  cmd.add_option("--model", model, model_help)->required();
  cmd.add_option("--data", data, "data (training layout; the label column is optional)")->required();
  cmd.add_option("--out", out, out_help)->required();
  table.add_to(cmd, false);
  add_threads_option(cmd, threads);
}

io::Table PredictArgs::read(int64_t num_feature, const char* complete_for) const {
  io::Table t = table.read(data);
  if (t.cols + 1 == num_feature && table.label_column >= 0) {
    TableArgs no_label = table;
    no_label.label_column = -1;
    t = no_label.read(data);
  }
  ROTOR_CHECK(t.cols == num_feature, data, ": has ", t.cols, " features, the model expects ", num_feature);
  if (complete_for)
    for (size_t i = 0; i < t.values.size(); ++i)
      ROTOR_CHECK(!std::isnan(t.values[i]), data, ": row ", i / t.cols + 1, " column ", i % t.cols + 1,
                  ": missing value (", complete_for, " needs complete data)");
  return t;
}

std::string prediction_row(const float* row, int K) {
  char buf[32];
  if (K == 2) {
    std::snprintf(buf, sizeof buf, "%.9g", row[1]);
    return buf;
  }
  std::string line;
  for (int k = 0; k < K; ++k) {
    std::snprintf(buf, sizeof buf, k ? ",%.9g" : "%.9g", row[k]);
    line += buf;
  }
  return line;
}

}  // namespace rotor::cli
