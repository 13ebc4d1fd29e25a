#pragma once
// BoostModel: a trained gradient-boosted tree ensemble (ours or imported from XGBoost) and its
// prediction. Row r's margin for output k is base_margin + the sum of the leaves reached in the
// trees of class k; predictions apply the objective's link (sigmoid, softmax, exp, identity).
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/io/table_reader.h"
#include "rotor/trees/tree.h"

namespace rotor::trees {

struct BoostModel {
  std::string objective = "reg:squarederror";
  int num_class = 0;           // > 1 for multi:softprob
  int num_feature = 0;
  double base_score = 0.5;     // in prediction space, as XGBoost stores it
  float base_margin = 0.5f;    // the same in margin space
  double huber_slope = 1.0;
  double quantile_alpha = 0.5;
  std::vector<Tree> trees;
  std::vector<int> tree_class;  // [trees]: the output each tree adds to
  std::vector<std::string> feature_names;
  int best_iteration = -1;     // round kept by early stopping (-1: none)

  int num_outputs() const { return num_class > 1 ? num_class : 1; }
  int num_rounds() const { return static_cast<int>(trees.size()) / num_outputs(); }

  // values: [rows, num_feature] (NaN = missing) -> margins [rows, num_outputs()].
  std::vector<float> predict_margin(const float* values, int64_t rows) const;
  // Margins through the objective's link.
  std::vector<float> predict(const float* values, int64_t rows) const;
  // Checks the table's width against num_feature (throws naming the file).
  void check_table(const io::Table& table) const;
};

// rotor's JSON model format: {"format": "rotor-boost", "version": 1, ...}. Save is atomic.
void save_model(const BoostModel& model, const std::string& path);
std::string model_to_json(const BoostModel& model);
// Loads rotor's format or XGBoost's JSON model (Booster.save_model("m.json"), XGBoost 1.x).
BoostModel load_model(const std::string& path);
BoostModel model_from_json_text(const std::string& text, const std::string& source);

}  // namespace rotor::trees
