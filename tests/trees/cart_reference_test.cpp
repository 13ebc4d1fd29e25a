// CART and forests against scikit-learn 1.2 (references from tests/trees/make_sklearn_reference.py):
// single trees predict scikit-learn's probabilities / values exactly (same splits, same pruning);
// forests, which depend on random streams, reach scikit-learn's test AUC / R^2 and OOB score within
// a small margin.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

#include "rotor/core/threads.h"
#include "rotor/io/atomic_file.h"
#include "rotor/io/table_reader.h"
#include "rotor/metrics/classification.h"
#include "rotor/trees/forest.h"

namespace {

using nlohmann::json;

std::string dir() { return std::string(ROTOR_SOURCE_DIR) + "/tests/trees/data/"; }
json cases() { return json::parse(rotor::io::read_file(dir() + "sk_cases.json")); }
rotor::io::Table load(const std::string& name) { return rotor::io::read_csv(dir() + name, {}); }

std::vector<double> read_matrix(const std::string& path) {
  std::vector<double> out;
  std::istringstream in(rotor::io::read_file(path));
  std::string line, cell;
  while (std::getline(in, line)) {
    std::istringstream cells(line);
    while (std::getline(cells, cell, ',')) out.push_back(std::stod(cell));
  }
  return out;
}

class CartReference : public ::testing::TestWithParam<int> {};

TEST_P(CartReference, TreeMatchesScikitLearn) {
  const json c = cases()["trees"][GetParam()];
  const std::string data = c["data"];
  SCOPED_TRACE(c["case"].get<std::string>());
  const auto train = load("sk_" + data + ".train.csv"), test = load("sk_" + data + ".test.csv");
  rotor::trees::ForestParams p;
  p.trees = 1;
  p.bootstrap = false;
  p.max_features = "all";
  const json& x = c["params"];
  p.tree.criterion = rotor::trees::parse_criterion(x["criterion"]);
  p.tree.max_depth = x.value("max_depth", 0);
  p.tree.min_samples_leaf = x.value("min_samples_leaf", 1);
  p.tree.min_samples_split = x.value("min_samples_split", 2);
  p.tree.min_impurity_decrease = x.value("min_impurity_decrease", 0.0);
  p.tree.ccp_alpha = x.value("ccp_alpha", 0.0);
  const auto result = rotor::trees::train_forest(train, p, data != "reg");
  const auto& tree = result.model.trees[0];
  EXPECT_EQ(tree.num_leaves(), c["leaves"].get<int>());
  EXPECT_EQ(tree.depth(), c["depth"].get<int>());
  const auto pred = result.model.predict(test.values.data(), test.rows);
  const auto ref = read_matrix(dir() + "sk_tree_" + c["case"].get<std::string>() + ".pred.txt");
  ASSERT_EQ(pred.size(), ref.size());
  const int K = result.model.num_outputs();
  int mismatched_rows = 0;
  for (int64_t r = 0; r < test.rows; ++r) {
    bool same = true;
    for (int k = 0; k < K; ++k) same = same && std::fabs(pred[r * K + k] - ref[r * K + k]) < 1e-5;
    mismatched_rows += !same;
  }
  // Fully grown trees end in tiny nodes where several features give the same impurity decrease;
  // scikit-learn breaks such ties by its random feature order, so a few test rows may land in a
  // different (equally good) leaf. Shallower trees must match exactly.
  const bool ties_possible = c["leaves"].get<int>() > 40;
  EXPECT_LE(mismatched_rows, ties_possible ? test.rows / 20 : 0);
}

INSTANTIATE_TEST_SUITE_P(Cases, CartReference, ::testing::Range(0, 7));

double test_auc(const rotor::trees::ForestModel& m, const rotor::io::Table& test) {
  const auto pred = m.predict(test.values.data(), test.rows);
  std::vector<float> p1(static_cast<size_t>(test.rows));
  for (int64_t r = 0; r < test.rows; ++r) p1[r] = pred[r * 2 + 1];
  return rotor::metrics::auc(test.labels.data(), p1.data(), nullptr, test.rows);
}

TEST(ForestReference, RandomForestAndExtraTreesMatchScikitLearnAccuracy) {
  const json f = cases()["forests"];
  const auto train = load("sk_bin.train.csv"), test = load("sk_bin.test.csv");
  rotor::trees::ForestParams p;
  p.trees = 100;
  const auto rf = rotor::trees::train_forest(train, p, true);
  EXPECT_GT(test_auc(rf.model, test), f["rf_bin"]["auc"].get<double>() - 0.015);
  EXPECT_NEAR(rf.oob_score, f["rf_bin"]["oob"].get<double>(), 0.03);
  EXPECT_EQ(rf.oob_rows, train.rows);
  // Impurity importances rank the features like scikit-learn's (the strongest first).
  const std::vector<double> sk_imp = f["rf_bin"]["importances"];
  const auto& imp = rf.model.importances;
  EXPECT_EQ(std::max_element(imp.begin(), imp.end()) - imp.begin(),
            std::max_element(sk_imp.begin(), sk_imp.end()) - sk_imp.begin());
  for (size_t i = 0; i < imp.size(); ++i) EXPECT_NEAR(imp[i], sk_imp[i], 0.05) << "feature " << i;

  p.bootstrap = false;
  p.tree.random_thresholds = true;
  const auto et = rotor::trees::train_forest(train, p, true);
  EXPECT_GT(test_auc(et.model, test), f["et_bin"]["auc"].get<double>() - 0.015);
}

TEST(ForestReference, RegressionForestMatchesScikitLearnR2) {
  const json f = cases()["forests"];
  const auto train = load("sk_reg.train.csv"), test = load("sk_reg.test.csv");
  rotor::trees::ForestParams p;
  p.trees = 100;
  p.tree.criterion = rotor::trees::Criterion::kSquaredError;
  const auto rf = rotor::trees::train_forest(train, p, false);
  EXPECT_GT(rotor::trees::forest_score(rf.model, test), f["rf_reg"]["r2"].get<double>() - 0.03);
  EXPECT_NEAR(rf.oob_score, f["rf_reg"]["oob"].get<double>(), 0.05);
}

TEST(ForestReference, PermutationImportanceFindsTheUsedFeatures) {
  const auto train = load("sk_bin.train.csv"), test = load("sk_bin.test.csv");
  rotor::trees::ForestParams p;
  p.trees = 30;
  const auto rf = rotor::trees::train_forest(train, p, true);
  const auto perm = rotor::trees::permutation_importance(rf.model, test, 5, 1);
  // The label depends on features 0..3, not on feature 4.
  EXPECT_GT(perm[0], perm[4]);
  EXPECT_GT(perm[0], 0.05);
  EXPECT_LT(std::fabs(perm[4]), 0.03);
}

TEST(ForestReference, SameForestOnOneAndTwoThreads) {
  const auto train = load("sk_multi.train.csv");
  rotor::trees::ForestParams p;
  p.trees = 8;
  rotor::set_num_threads(1);
  const auto a = rotor::trees::train_forest(train, p, true).model.predict(train.values.data(), train.rows);
  rotor::set_num_threads(2);
  const auto b = rotor::trees::train_forest(train, p, true).model.predict(train.values.data(), train.rows);
  rotor::set_num_threads(0);
  EXPECT_EQ(a, b);
}

}  // namespace
