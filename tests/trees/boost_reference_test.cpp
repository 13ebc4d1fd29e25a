// Gradient boosting against XGBoost 1.7 (references from tests/trees/make_reference.py):
// (1) rotor trained with the same parameters predicts what XGBoost predicts on held-out rows
//     (features have < 256 distinct values, so both use the same cuts and grow the same trees);
// (2) XGBoost's own JSON models, imported, predict XGBoost's numbers within 1e-5.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "rotor/io/atomic_file.h"
#include "rotor/io/table_reader.h"
#include "rotor/trees/boost_model.h"
#include "rotor/trees/booster.h"

namespace {

using nlohmann::json;
using rotor::trees::BoostParams;

std::string data_dir() { return std::string(ROTOR_SOURCE_DIR) + "/tests/trees/data/"; }

std::vector<float> read_predictions(const std::string& path) {
  std::vector<float> out;
  std::istringstream in(rotor::io::read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) out.push_back(std::stof(cell));
  }
  return out;
}

BoostParams params_from(const json& c) {
  BoostParams p;
  const json& x = c["params"];
  p.objective = x["objective"];
  p.rounds = c["rounds"];
  p.num_class = x.value("num_class", 0);
  p.tree.max_depth = x.value("max_depth", 6);
  p.tree.max_leaves = x.value("max_leaves", 0);
  p.tree.lossguide = x.value("grow_policy", "depthwise") == "lossguide";
  p.tree.eta = x.value("eta", 0.3);
  p.tree.penalty.lambda = x.value("reg_lambda", 1.0);
  p.tree.penalty.alpha = x.value("reg_alpha", 0.0);
  p.tree.penalty.min_child_weight = x.value("min_child_weight", 1.0);
  p.tree.penalty.max_delta_step = x.value("max_delta_step", 0.0);
  p.tree.gamma = x.value("gamma", 0.0);
  p.max_delta_step_given = x.contains("max_delta_step");
  if (x.contains("monotone_constraints")) p.tree.monotone = rotor::trees::parse_monotone(x["monotone_constraints"]);
  p.huber_slope = x.value("huber_slope", 1.0);
  return p;
}

json cases() { return json::parse(rotor::io::read_file(data_dir() + "cases.json")); }

class BoostReference : public ::testing::TestWithParam<int> {};

TEST_P(BoostReference, TrainedModelMatchesXGBoost) {
  const json c = cases()[GetParam()];
  const std::string name = c["case"], data = c["data"];
  SCOPED_TRACE(name);
  rotor::io::TableOptions opt;
  if (c["weighted"]) opt.weight_column = 7;
  const auto train = rotor::io::read_csv(data_dir() + (c["weighted"] ? "binary_weighted" : data) + ".train.csv", opt);
  const auto test = rotor::io::read_csv(data_dir() + data + ".test.csv", {});
  if (c["weighted"]) {
    ASSERT_EQ(train.weights.size(), static_cast<size_t>(train.rows));
  }
  const auto result = rotor::trees::train_booster(train, nullptr, params_from(c));
  const std::vector<float> ours = result.model.predict(test.values.data(), test.rows);
  const std::vector<float> ref = read_predictions(data_dir() + name + ".xgb_pred.txt");
  ASSERT_EQ(ours.size(), ref.size());
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(double(ours[i]) - ref[i]));
  EXPECT_LT(worst, 1e-5) << "largest difference from XGBoost's predictions";
}

TEST_P(BoostReference, ImportedXGBoostModelPredictsTheSame) {
  const json c = cases()[GetParam()];
  const std::string name = c["case"], data = c["data"];
  SCOPED_TRACE(name);
  const auto model = rotor::trees::load_model(data_dir() + name + ".xgb.json");
  const auto test = rotor::io::read_csv(data_dir() + data + ".test.csv", {});
  const std::vector<float> ours = model.predict(test.values.data(), test.rows);
  const std::vector<float> ref = read_predictions(data_dir() + name + ".xgb_pred.txt");
  ASSERT_EQ(ours.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(ours[i], ref[i], 1e-5) << "row " << i / model.num_outputs();
}

INSTANTIATE_TEST_SUITE_P(Cases, BoostReference, ::testing::Range(0, 10));

TEST(BoostModelFile, SaveLoadPredictsIdentically) {
  const auto train = rotor::io::read_csv(data_dir() + "multiclass.train.csv", {});
  BoostParams p;
  p.objective = "multi:softprob";
  p.num_class = 3;
  p.rounds = 5;
  const auto result = rotor::trees::train_booster(train, nullptr, p);
  const std::string path = std::string(ROTOR_BINARY_DIR) + "/boost_roundtrip_model.json";
  rotor::trees::save_model(result.model, path);
  const auto loaded = rotor::trees::load_model(path);
  const auto a = result.model.predict(train.values.data(), train.rows);
  const auto b = loaded.predict(train.values.data(), train.rows);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]);
}

}  // namespace
