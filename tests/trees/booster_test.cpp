// Behaviour of the histogram booster that the XGBoost reference cases do not pin down: thread-count
// independence, early stopping, depth/leaf limits, gamma, subsampling seeds, weights as repetition,
// and the learned default direction for missing values.
#include <gtest/gtest.h>

#include <cmath>

#include "rotor/core/rng.h"
#include "rotor/core/threads.h"
#include "rotor/metrics/classification.h"
#include "rotor/trees/boost_model.h"
#include "rotor/trees/booster.h"

namespace {

using rotor::trees::BoostParams;
using rotor::trees::train_booster;

// y = 1 when a noisy score of the first features is positive; values rounded to 0.1 so that each
// feature has < 256 distinct values.
rotor::io::Table synthetic(int64_t rows, int cols, uint64_t seed, double missing = 0.02) {
  rotor::Rng rng(seed);
  rotor::io::Table t;
  t.rows = rows;
  t.cols = cols;
  t.source = "synthetic";
  for (int64_t r = 0; r < rows; ++r) {
    double score = 0;
    for (int c = 0; c < cols; ++c) {
      const float v = std::round(static_cast<float>(rng.normal()) * 10) / 10;
      if (c < 3) score += (c == 1 ? -v : v);
      t.values.push_back(rng.uniform() < missing ? std::nanf("") : v);
    }
    t.labels.push_back(score + 0.5 * rng.normal() > 0 ? 1.0f : 0.0f);
  }
  return t;
}

TEST(Booster, SameModelOnOneAndTwoThreads) {
  const auto data = synthetic(50000, 8, 1);  // large enough for the chunked parallel paths
  BoostParams p;
  p.objective = "binary:logistic";
  p.rounds = 4;
  p.tree.max_depth = 6;
  p.subsample = 0.8;
  p.colsample_bytree = 0.8;
  rotor::set_num_threads(1);
  const std::string one = rotor::trees::model_to_json(train_booster(data, nullptr, p).model);
  rotor::set_num_threads(2);
  const std::string two = rotor::trees::model_to_json(train_booster(data, nullptr, p).model);
  rotor::set_num_threads(0);
  EXPECT_EQ(one, two);
}

TEST(Booster, EarlyStoppingKeepsTheBestRound) {
  const auto train = synthetic(300, 6, 2), valid = synthetic(300, 6, 3);
  BoostParams p;
  p.objective = "binary:logistic";
  p.rounds = 200;
  p.tree.eta = 1.0;  // overfits quickly
  p.tree.max_depth = 6;
  p.tree.penalty.min_child_weight = 0;
  p.early_stopping_rounds = 5;
  p.eval_metrics = {"logloss"};
  const auto r = train_booster(train, &valid, p);
  ASSERT_GE(r.best_iteration, 0);
  EXPECT_LT(r.best_iteration, 100);
  EXPECT_EQ(static_cast<int>(r.history.size()), r.best_iteration + 1 + 5);
  EXPECT_EQ(static_cast<int>(r.model.trees.size()), r.best_iteration + 1);
  // The kept model scores the recorded best on the validation data.
  const auto pred = r.model.predict(valid.values.data(), valid.rows);
  EXPECT_NEAR(rotor::metrics::evaluate("logloss", valid.labels, pred, 0, {}), r.best_score, 1e-6);
}

TEST(Booster, DepthAndLeafLimits) {
  const auto data = synthetic(2000, 6, 4);
  BoostParams p;
  p.objective = "binary:logistic";
  p.rounds = 3;
  p.tree.max_depth = 3;
  p.tree.penalty.min_child_weight = 0;
  for (const auto& t : train_booster(data, nullptr, p).model.trees) {
    EXPECT_LE(t.depth(), 3);
    EXPECT_EQ(t.num_leaves(), 8);  // 2000 noisy rows: every node can split
  }
  p.tree.lossguide = true;
  p.tree.max_depth = 0;
  p.tree.max_leaves = 5;
  for (const auto& t : train_booster(data, nullptr, p).model.trees) EXPECT_EQ(t.num_leaves(), 5);
  p.tree.gamma = 1e9;  // no split is worth it
  for (const auto& t : train_booster(data, nullptr, p).model.trees) EXPECT_EQ(t.num_leaves(), 1);
}

TEST(Booster, SubsampleDependsOnlyOnTheSeed) {
  const auto data = synthetic(2000, 6, 5);
  BoostParams p;
  p.objective = "binary:logistic";
  p.rounds = 3;
  p.subsample = 0.5;
  p.tree.colsample_bynode = 0.5;
  p.seed = 7;
  const std::string a = rotor::trees::model_to_json(train_booster(data, nullptr, p).model);
  const std::string b = rotor::trees::model_to_json(train_booster(data, nullptr, p).model);
  p.seed = 8;
  const std::string c = rotor::trees::model_to_json(train_booster(data, nullptr, p).model);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Booster, IntegerWeightsEqualRepeatedRows) {
  const auto data = synthetic(500, 5, 6);
  rotor::io::Table weighted = data, repeated = data;
  weighted.weights.assign(static_cast<size_t>(data.rows), 1.0f);
  for (int64_t r = 0; r < data.rows; r += 3) {
    weighted.weights[r] = 2.0f;
    repeated.values.insert(repeated.values.end(), data.values.begin() + r * data.cols,
                           data.values.begin() + (r + 1) * data.cols);
    repeated.labels.push_back(data.labels[r]);
    ++repeated.rows;
  }
  BoostParams p;
  p.objective = "binary:logistic";
  p.rounds = 4;
  p.tree.max_depth = 4;
  const auto a = train_booster(weighted, nullptr, p).model.predict(data.values.data(), data.rows);
  const auto b = train_booster(repeated, nullptr, p).model.predict(data.values.data(), data.rows);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5) << i;
}

TEST(Booster, LearnsWhereMissingValuesGo) {
  // Feature 0 is missing exactly for the positive rows; the split must send missing values to the
  // side with high predictions, whichever side that is.
  rotor::Rng rng(9);
  rotor::io::Table t;
  t.cols = 2;
  t.source = "missing";
  for (int i = 0; i < 400; ++i) {
    const bool positive = i % 2 == 0;
    t.values.push_back(positive ? std::nanf("") : std::round(static_cast<float>(rng.normal()) * 10) / 10);
    t.values.push_back(std::round(static_cast<float>(rng.normal()) * 10) / 10);
    t.labels.push_back(positive ? 1.0f : 0.0f);
    ++t.rows;
  }
  BoostParams p;
  p.objective = "binary:logistic";
  p.rounds = 5;
  p.tree.max_depth = 1;
  const auto model = train_booster(t, nullptr, p).model;
  EXPECT_EQ(model.trees[0].nodes[0].feature, 0);
  const float rows[4] = {std::nanf(""), 0.0f, 0.3f, 0.0f};
  const auto pred = model.predict(rows, 2);
  EXPECT_GT(pred[0], 0.8f);
  EXPECT_LT(pred[1], 0.2f);
}

}  // namespace

namespace {

TEST(Booster, QuantileObjectiveCoversTheRequestedFraction) {
  // y = x0 + noise with spread growing in x1: a 0.1 and a 0.9 quantile model should leave about
  // 10% and 90% of held-out labels below their predictions.
  auto make = [](uint64_t seed) {
    rotor::Rng rng(seed);
    rotor::io::Table t;
    t.cols = 2;
    t.source = "quantile";
    for (int i = 0; i < 4000; ++i) {
      const float x0 = std::round(static_cast<float>(rng.normal()) * 10) / 10;
      const float x1 = std::round(static_cast<float>(rng.uniform()) * 20) / 20;
      t.values.push_back(x0);
      t.values.push_back(x1);
      t.labels.push_back(x0 + (0.2f + 2 * x1) * static_cast<float>(rng.normal()));
      ++t.rows;
    }
    return t;
  };
  const auto train = make(1), test = make(2);
  for (double alpha : {0.1, 0.9}) {
    BoostParams p;
    p.objective = "reg:quantileerror";
    p.quantile_alpha = alpha;
    p.rounds = 60;
    p.tree.max_depth = 3;
    p.tree.eta = 0.2;
    p.base_score = 0.0;
    const auto model = train_booster(train, nullptr, p).model;
    const auto pred = model.predict(test.values.data(), test.rows);
    double below = 0;
    for (int64_t i = 0; i < test.rows; ++i) below += test.labels[i] < pred[i];
    EXPECT_NEAR(below / test.rows, alpha, 0.04) << "alpha " << alpha;
  }
}

}  // namespace
