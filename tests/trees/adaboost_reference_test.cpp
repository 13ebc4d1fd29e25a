// AdaBoost against scikit-learn 1.2 (tests/trees/make_sklearn_reference.py -> sk_ada.json):
// SAMME estimator weights and probabilities match; AdaBoost.R2 reaches scikit-learn's test R^2.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "rotor/io/atomic_file.h"
#include "rotor/io/table_reader.h"
#include "rotor/trees/adaboost.h"
#include "rotor/trees/forest.h"

namespace {

using nlohmann::json;

std::string dir() { return std::string(ROTOR_SOURCE_DIR) + "/tests/trees/data/"; }

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

TEST(AdaBoostReference, SammeMatchesScikitLearn) {
  const json ref = json::parse(rotor::io::read_file(dir() + "sk_ada.json"));
  for (const std::string name : {"samme_bin_stumps", "samme_multi_depth2"}) {
    SCOPED_TRACE(name);
    const json& c = ref[name];
    const std::string data = c["data"];
    const auto train = rotor::io::read_csv(dir() + "sk_" + data + ".train.csv", {});
    const auto test = rotor::io::read_csv(dir() + "sk_" + data + ".test.csv", {});
    rotor::trees::AdaBoostParams p;
    p.estimators = c["n_estimators"];
    p.learning_rate = c["learning_rate"];
    p.tree.max_depth = c["depth"];
    const auto model = rotor::trees::train_adaboost(train, p, true);
    const std::vector<double> weights = c["weights"];
    ASSERT_EQ(model.weights.size(), weights.size());
    for (size_t i = 0; i < weights.size(); ++i) EXPECT_NEAR(model.weights[i], weights[i], 1e-9) << "tree " << i;
    const auto pred = model.predict(test.values.data(), test.rows);
    const auto expected = read_matrix(dir() + "sk_ada_" + name + ".pred.txt");
    ASSERT_EQ(pred.size(), expected.size());
    for (size_t i = 0; i < pred.size(); ++i) ASSERT_NEAR(pred[i], expected[i], 1e-6) << "entry " << i;
  }
}

TEST(AdaBoostReference, R2ReachesScikitLearnScore) {
  const json ref = json::parse(rotor::io::read_file(dir() + "sk_ada.json"));
  const auto train = rotor::io::read_csv(dir() + "sk_reg.train.csv", {});
  const auto test = rotor::io::read_csv(dir() + "sk_reg.test.csv", {});
  rotor::trees::AdaBoostParams p;
  p.estimators = 30;
  const auto model = rotor::trees::train_adaboost(train, p, false);
  const auto pred = model.predict(test.values.data(), test.rows);
  double mean = 0, ss_res = 0, ss_tot = 0;
  for (float y : test.labels) mean += y / test.rows;
  for (int64_t i = 0; i < test.rows; ++i) {
    ss_res += (test.labels[i] - pred[i]) * (test.labels[i] - pred[i]);
    ss_tot += (test.labels[i] - mean) * (test.labels[i] - mean);
  }
  EXPECT_GT(1 - ss_res / ss_tot, ref["r2"]["r2"].get<double>() - 0.05);
  // The weighted median is one of the trees' predictions.
  for (size_t t = 0; t < model.trees.size(); ++t) EXPECT_GT(model.weights[t], 0);
}

}  // namespace
