// The metric-learning experiments' pieces (rotor/models/metric_learning.h): TAR@FAR and exact AUC by
// hand-worked cases, and both trainers on synthetic separable clusters (where they must succeed).
#include "rotor/models/metric_learning.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"

namespace rotor::models {
namespace {

TEST(MetricLearning, TarAtFar) {
  // 1000 impostors 0.000 .. 0.999: FAR 1e-3 allows one above the threshold -> threshold 0.998.
  std::vector<double> impostor;
  for (int i = 0; i < 1000; ++i) impostor.push_back(i / 1000.0);
  double t = 0;
  EXPECT_DOUBLE_EQ(tar_at_far({0.9985, 0.5, 0.9995, 1.0}, impostor, 1e-3, &t), 0.75);
  EXPECT_DOUBLE_EQ(t, 0.998);
  EXPECT_DOUBLE_EQ(tar_at_far({0.1, 0.2}, impostor, 0.5, &t), 0.0);  // threshold 0.499
  EXPECT_THROW(tar_at_far({0.1}, {}, 1e-3, &t), Error);
}

TEST(MetricLearning, ExactAuc) {
  EXPECT_DOUBLE_EQ(exact_auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);  // sklearn's example
  EXPECT_DOUBLE_EQ(exact_auc({1, 1, 1}, {0, 1, 0}), 0.5);                  // all tied
  EXPECT_DOUBLE_EQ(exact_auc({3, 2, 1}, {1, 0, 0}), 1.0);
  EXPECT_THROW(exact_auc({1, 2}, {1, 1}), Error);
}

// Four Gaussian clusters in 16 dims, labels = cluster; images-like rows.
LabeledImages clusters(int64_t n, uint64_t seed, int64_t classes = 4) {
  Rng rng(seed);
  std::vector<float> x;
  LabeledImages out;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % classes;
    for (int64_t d = 0; d < 4 * classes; ++d)
      x.push_back(static_cast<float>((d % classes == c ? 2.0 : 0.0) + 0.3 * rng.normal()));
    out.y.push_back(c);
  }
  out.x = Tensor::from_vector(x, {n, 4 * classes});
  return out;
}

TEST(MetricLearning, MarginHeadsLearnSeparableClusters) {
  const auto train = clusters(400, 1), test = clusters(200, 2);
  for (const char* head : {"softmax", "asoftmax", "cosface", "arcface"}) {
    SCOPED_TRACE(head);
    MarginExperimentOptions o;
    o.head.kind = nn::parse_margin_kind(head);
    o.head.m = nn::default_margin(o.head.kind);
    o.hidden = 32, o.dim = 8, o.epochs = 15, o.batch = 32, o.lr = 3e-3, o.pair_images = 200, o.far = 1e-2;
    const auto r = run_margin_experiment(train, test, o);
    EXPECT_GT(r.test_accuracy, 0.95);
    EXPECT_GT(r.tar, 0.5);
    EXPECT_EQ(r.genuine_pairs + r.impostor_pairs, 200 * 199 / 2);
  }
}

TEST(MetricLearning, SurrogatesLearnSeparableClusters) {
  // Positive class 0 at 1:2 (positives subsampled); all four losses reach a high AUC.
  const auto train = clusters(600, 3), test = clusters(300, 4);
  for (const char* loss : {"ce", "soft_acc", "soft_f1", "auc"}) {
    SCOPED_TRACE(loss);
    SurrogateExperimentOptions o;
    o.loss = parse_surrogate_loss(loss);
    o.positive_class = 0, o.ratio = 2, o.hidden = 16, o.epochs = 20, o.batch = 64, o.lr = 3e-3;
    const auto r = run_surrogate_experiment(train, test, o);
    EXPECT_EQ(r.train_negatives, 450);
    EXPECT_EQ(r.train_positives, 150);  // 450 / 2 wanted, 150 exist
    EXPECT_GT(r.auc, 0.95);
  }
  EXPECT_THROW(parse_surrogate_loss("hinge"), Error);
}

TEST(MetricLearning, MulticlassSurrogatesOnLongTailedClusters) {
  // Ten classes of 100 images each, long-tailed at 1:10: class c keeps round(100 * 10^(-c/9)).
  const auto train = clusters(1000, 5, 10), test = clusters(1000, 6, 10);
  for (const char* loss : {"ce", "soft_acc", "soft_f1"}) {
    SCOPED_TRACE(loss);
    SurrogateExperimentOptions o;
    o.loss = parse_surrogate_loss(loss);
    o.multiclass = true;
    o.ratio = 10, o.hidden = 32, o.epochs = 40, o.batch = 64, o.lr = 3e-3;
    const auto r = run_surrogate_experiment(train, test, o);
    ASSERT_EQ(r.train_per_class.size(), 10u);
    EXPECT_EQ(r.train_per_class[0], 100);
    EXPECT_EQ(r.train_per_class[9], 10);
    EXPECT_EQ(r.train_per_class[3], static_cast<int64_t>(std::round(100 * std::pow(10.0, -3.0 / 9.0))));
    EXPECT_GT(r.accuracy, 0.9);
    EXPECT_GT(r.macro_f1, 0.85);
    EXPECT_GT(r.balanced_accuracy, 0.85);
    EXPECT_LE(r.macro_f1, 1.0);
  }
  SurrogateExperimentOptions auc;
  auc.loss = SurrogateLoss::auc;
  auc.multiclass = true;
  EXPECT_THROW(run_surrogate_experiment(train, test, auc), Error);
}

}  // namespace
}  // namespace rotor::models
