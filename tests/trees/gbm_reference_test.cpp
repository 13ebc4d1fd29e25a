// Friedman gradient boosting against scikit-learn's GradientBoostingRegressor / Classifier
// (tests/trees/make_sklearn_reference.py). The residual targets make near-ties between splits
// common, and scikit-learn breaks them by a feature order drawn from its random state per stage,
// so individual trees can differ: the comparison is of predictions (close on average) and of test
// error (within a few percent).
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "rotor/io/atomic_file.h"
#include "rotor/io/table_reader.h"
#include "rotor/trees/gbm.h"

namespace {

std::string dir() { return std::string(ROTOR_SOURCE_DIR) + "/tests/trees/data/"; }

std::vector<double> read_column(const std::string& path) {
  std::vector<double> out;
  std::istringstream in(rotor::io::read_file(path));
  double v;
  while (in >> v) out.push_back(v);
  return out;
}

// Mean absolute difference of predictions, and the squared errors of both against the labels.
struct Comparison {
  double mean_abs_diff = 0, ours_mse = 0, ref_mse = 0;
};
Comparison compare(const std::vector<float>& got, const std::vector<double>& want, const std::vector<float>& labels) {
  Comparison c;
  EXPECT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    c.mean_abs_diff += std::fabs(got[i] - want[i]) / got.size();
    c.ours_mse += (got[i] - labels[i]) * (got[i] - labels[i]) / got.size();
    c.ref_mse += (want[i] - labels[i]) * (want[i] - labels[i]) / got.size();
  }
  return c;
}

TEST(GbmReference, RegressorMatchesScikitLearn) {
  const auto train = rotor::io::read_csv(dir() + "sk_reg.train.csv", {});
  const auto test = rotor::io::read_csv(dir() + "sk_reg.test.csv", {});
  rotor::trees::GbmParams p;
  p.estimators = 30;
  p.learning_rate = 0.1;
  p.tree.max_depth = 3;
  const auto model = rotor::trees::train_gbm(train, p);
  const auto c = compare(model.predict(test.values.data(), test.rows), read_column(dir() + "sk_gbm_reg.pred.txt"),
                         test.labels);
  EXPECT_LT(c.ours_mse, c.ref_mse * 1.05);
  EXPECT_LT(c.mean_abs_diff, 0.05 * std::sqrt(c.ref_mse));
}

TEST(GbmReference, BinaryClassifierMatchesScikitLearn) {
  const auto train = rotor::io::read_csv(dir() + "sk_bin.train.csv", {});
  const auto test = rotor::io::read_csv(dir() + "sk_bin.test.csv", {});
  rotor::trees::GbmParams p;
  p.loss = "log_loss";
  p.estimators = 30;
  p.learning_rate = 0.2;
  p.tree.max_depth = 2;
  const auto model = rotor::trees::train_gbm(train, p);
  const auto c = compare(model.predict(test.values.data(), test.rows), read_column(dir() + "sk_gbm_bin.pred.txt"),
                         test.labels);
  EXPECT_LT(c.ours_mse, c.ref_mse * 1.05);  // Brier score
  EXPECT_LT(c.mean_abs_diff, 0.02);
}

TEST(GbmReference, SubsamplingIsSeededAndStillLearns) {
  const auto train = rotor::io::read_csv(dir() + "sk_reg.train.csv", {});
  rotor::trees::GbmParams p;
  p.estimators = 20;
  p.subsample = 0.5;
  p.seed = 3;
  const auto a = rotor::trees::train_gbm(train, p).predict(train.values.data(), train.rows);
  const auto b = rotor::trees::train_gbm(train, p).predict(train.values.data(), train.rows);
  EXPECT_EQ(a, b);
  double before = 0, after = 0, mean = 0;
  for (float y : train.labels) mean += y / train.rows;
  for (int64_t i = 0; i < train.rows; ++i) {
    before += (train.labels[i] - mean) * (train.labels[i] - mean);
    after += (train.labels[i] - a[i]) * (train.labels[i] - a[i]);
  }
  EXPECT_LT(after, 0.5 * before);
}

}  // namespace
