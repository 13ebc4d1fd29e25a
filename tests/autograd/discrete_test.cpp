#include "rotor/autograd/discrete.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/kernels/elementwise.h"
#include "tests/nn/json_reference.h"

// The straight-through and Gumbel-softmax ops beyond their finite-difference cases in the gradcheck
// harness (discrete.cpp): samples and gradients equal torch.nn.functional.gumbel_softmax's for the same
// noise, soft and hard (tests/autograd/discrete_reference.json, written by
// tests/autograd/make_discrete_reference.py), the hard forward is one-hot, its gradient is the soft
// sample's, and Gumbel-max samples follow softmax(logits).
namespace rotor::autograd {
namespace {

Tensor from(const std::vector<double>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::f64);
  for (size_t i = 0; i < v.size(); ++i) t.data<double>()[i] = v[i];
  return t;
}

TEST(GumbelSoftmax, EqualsPyTorchForTheSameNoise) {
  using testing_json::expect_close;
  using testing_json::tensor_of;
  const testing_json::json ref = testing_json::read_reference("tests/autograd/discrete_reference.json");
  int64_t hard_cases = 0;
  ASSERT_GT(ref["gumbel_softmax"].size(), 0u);
  for (const auto& c : ref["gumbel_softmax"]) {
    const double tau = c["tau"].get<double>();
    const bool hard = c["hard"].get<bool>();
    const std::string what = rotor::cat(hard ? "hard" : "soft", " tau ", tau, " ", tensor_of(c["logits"]).str());
    Var logits(tensor_of(c["logits"]), true);
    const Var y = gumbel_softmax(logits, tensor_of(c["noise"]), tau, hard);
    expect_close(y.value(), c["output"], what + " output", 1e-12);
    sum(mul(y, Var(tensor_of(c["weights"])))).backward();
    expect_close(logits.grad(), c["grad"], what + " gradient", 1e-10);
    hard_cases += hard;
  }
  EXPECT_GT(hard_cases, 0);
}

TEST(GumbelSoftmax, HardIsOneHotWithTheSoftGradient) {
  Rng rng(5);
  const Tensor logits_value = from({0.3, -1.0, 2.0, 0.1, 0.7, -0.4, 0.0, 1.5}, {2, 4});
  const Tensor noise = gumbel_noise({2, 4}, rng, DType::f64);
  const Tensor w = from({0.5, -1.0, 2.0, 0.25, -0.75, 1.0, 0.3, -2.0}, {2, 4});
  Var a(logits_value, true), b(logits_value, true);
  const Var hard = gumbel_softmax(a, noise, 0.7, true);
  const Var soft = gumbel_softmax(b, noise, 0.7, false);
  for (int64_t r = 0; r < 2; ++r) {
    double total = 0;
    int64_t hot = -1, best = 0;
    for (int64_t j = 0; j < 4; ++j) {
      const double h = hard.value().at({r, j});
      EXPECT_TRUE(h == 0.0 || h == 1.0);
      total += h;
      if (h == 1.0) hot = j;
      if (soft.value().at({r, j}) > soft.value().at({r, best})) best = j;
    }
    EXPECT_EQ(total, 1.0);
    EXPECT_EQ(hot, best);
  }
  sum(mul(hard, Var(w))).backward();
  sum(mul(soft, Var(w))).backward();
  double nonzero = 0;
  for (int64_t i = 0; i < 8; ++i) {
    EXPECT_DOUBLE_EQ(a.grad().data<double>()[i], b.grad().data<double>()[i]);
    nonzero += std::abs(a.grad().data<double>()[i]);
  }
  EXPECT_GT(nonzero, 1e-3);
}

TEST(GumbelSoftmax, GumbelMaxSamplesFollowTheSoftmax) {
  Rng rng(9);
  const int64_t n = 40000;
  const std::vector<double> logits{1.0, 0.0, -1.0, 0.5};
  Tensor rows = Tensor::empty({n, 4}, DType::f64);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < 4; ++j) rows.data<double>()[i * 4 + j] = logits[static_cast<size_t>(j)];
  const Tensor picks = one_hot_argmax(kernels::add(rows, gumbel_noise({n, 4}, rng, DType::f64)));
  double z = 0;
  for (double l : logits) z += std::exp(l);
  for (int64_t j = 0; j < 4; ++j) {
    double count = 0;
    for (int64_t i = 0; i < n; ++i) count += picks.data<double>()[i * 4 + j];
    const double p = std::exp(logits[static_cast<size_t>(j)]) / z;
    EXPECT_NEAR(count / n, p, 4 * std::sqrt(p * (1 - p) / n)) << "class " << j;
  }
}

TEST(GumbelSoftmax, BadInputIsAnError) {
  Rng rng(1);
  const Var x(Tensor::zeros({2, 3}));
  EXPECT_THROW(gumbel_softmax(x, gumbel_noise({2, 3}, rng), 0.0, false), Error);
  EXPECT_THROW(gumbel_softmax(x, gumbel_noise({3, 2}, rng), 1.0, false), Error);
  EXPECT_THROW(straight_through(x, Var(Tensor::zeros({3, 2}))), Error);
}

}  // namespace
}  // namespace rotor::autograd
