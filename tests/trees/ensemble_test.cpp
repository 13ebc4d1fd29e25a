// Bagging and stacking: bagged deep trees beat a single deep tree on held-out data; stacking's
// out-of-fold meta-learner is at least as good as its weakest base and close to its best; models
// round-trip through JSON with identical predictions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "rotor/core/error.h"

#include "rotor/io/table_reader.h"
#include "rotor/trees/ensemble.h"

namespace {

using rotor::trees::LearnerSpec;

std::string dir() { return std::string(ROTOR_SOURCE_DIR) + "/tests/trees/data/"; }

double accuracy(const std::vector<float>& pred, const rotor::io::Table& t, int K) {
  int64_t correct = 0;
  for (int64_t r = 0; r < t.rows; ++r) {
    const float* p = pred.data() + r * K;
    correct += (std::max_element(p, p + K) - p) == static_cast<int64_t>(t.labels[r]);
  }
  return static_cast<double>(correct) / t.rows;
}

TEST(Ensemble, BaggingDeepTreesBeatsOneTree) {
  const auto train = rotor::io::read_csv(dir() + "sk_bin.train.csv", {});
  const auto test = rotor::io::read_csv(dir() + "sk_bin.test.csv", {});
  const auto one = rotor::trees::train_learner(LearnerSpec::parse("tree"), train, 2, 0);
  const auto bag = rotor::trees::train_bagging(train, LearnerSpec::parse("tree"), 25, 1.0, 2, 1);
  EXPECT_GT(accuracy(bag.model.predict(test.values.data(), test.rows), test, 2),
            accuracy(one->predict(test.values.data(), test.rows), test, 2) + 0.02);
}

TEST(Ensemble, StackingIsAtLeastItsWeakestBaseAndRoundTrips) {
  const auto train = rotor::io::read_csv(dir() + "sk_multi.train.csv", {});
  const auto test = rotor::io::read_csv(dir() + "sk_multi.test.csv", {});
  const std::vector<LearnerSpec> specs{LearnerSpec::parse("tree:max_depth=3"), LearnerSpec::parse("forest:trees=30"),
                                       LearnerSpec::parse("boost:rounds=30,max_depth=3,eta=0.2")};
  const auto stack = rotor::trees::train_stacking(train, specs, 5, 3, 1.0, 7);
  const auto pred = stack.model.predict(test.values.data(), test.rows);
  for (int64_t r = 0; r < test.rows; ++r) {
    double s = 0;
    for (int k = 0; k < 3; ++k) s += pred[r * 3 + k];
    ASSERT_NEAR(s, 1.0, 1e-5);
  }
  double worst = 1, best = 0;
  for (size_t b = 0; b < specs.size(); ++b) {
    const double a = accuracy(stack.model.bases[b]->predict(test.values.data(), test.rows), test, 3);
    worst = std::min(worst, a);
    best = std::max(best, a);
  }
  const double stacked = accuracy(pred, test, 3);
  EXPECT_GE(stacked, worst);
  EXPECT_GT(stacked, best - 0.05);
  EXPECT_GT(stack.oof_score, 0.5);
  const std::string path = std::string(ROTOR_BINARY_DIR) + "/stacking_roundtrip.json";
  rotor::trees::save_ensemble(stack.model, path);
  const auto loaded = rotor::trees::load_ensemble(path);
  EXPECT_EQ(loaded.predict(test.values.data(), test.rows), pred);
}

TEST(Ensemble, RegressionStackingAndBadSpecs) {
  const auto train = rotor::io::read_csv(dir() + "sk_reg.train.csv", {});
  const auto r = rotor::trees::train_stacking(
      train, {LearnerSpec::parse("gbm:n_estimators=30"), LearnerSpec::parse("forest:trees=20")}, 4, 0, 1.0, 3);
  EXPECT_GT(r.oof_score, 0.5);  // R^2 of the out-of-fold meta-learner
  EXPECT_THROW(LearnerSpec::parse("svm"), rotor::Error);
  EXPECT_THROW(LearnerSpec::parse("tree:depth"), rotor::Error);
  EXPECT_THROW(rotor::trees::train_learner(LearnerSpec::parse("tree:bogus=1"), train, 0, 0), rotor::Error);
}

}  // namespace
