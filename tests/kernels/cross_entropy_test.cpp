#include "rotor/kernels/cross_entropy.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/core/error.h"
#include "tests/kernels/finite_difference.h"

namespace rotor {
namespace {

TEST(CrossEntropyKernel, GradientMatchesFiniteDifferences) {
  for (double smoothing : {0.0, 0.1}) {
    Rng rng(5);
    const int64_t N = 6, V = 9;
    auto logits = testing::random_vector(rng, N * V, 2.0);
    std::vector<int32_t> targets = {0, 3, -100, 8, 4, 3};  // one ignored row
    kernels::CrossEntropyOptions opt{-100, smoothing};
    auto loss = [&] { return kernels::cross_entropy_forward<double>(nullptr, logits.data(), targets.data(), N, V, opt); };
    std::vector<double> grad(N * V);
    const double fused = kernels::cross_entropy_forward_backward<double>(grad.data(), logits.data(), targets.data(), N,
                                                                          V, opt);
    EXPECT_NEAR(fused, loss(), 1e-12);
    testing::expect_gradients_match({{"logits", &logits, &grad}}, loss);
  }
}

TEST(CrossEntropyKernel, MatchesDefinition) {
  // loss of one row = logsumexp(x) - x[y]
  std::vector<double> x = {1.0, 2.0, 0.5};
  std::vector<int32_t> y = {1};
  const double expected = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(0.5)) - 2.0;
  EXPECT_NEAR(kernels::cross_entropy_forward<double>(nullptr, x.data(), y.data(), 1, 3), expected, 1e-14);
}

TEST(CrossEntropyKernel, InPlaceGradientAndAllIgnored) {
  std::vector<float> x = {1.0f, 2.0f, 0.5f, 0.0f, 0.0f, 0.0f};
  std::vector<float> copy = x, grad(6);
  std::vector<int32_t> y = {1, 2};
  kernels::cross_entropy_forward_backward<float>(grad.data(), copy.data(), y.data(), 2, 3);
  kernels::cross_entropy_forward_backward<float>(x.data(), x.data(), y.data(), 2, 3);
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(x[i], grad[i]);
  std::vector<int32_t> ignored = {-100, -100};
  EXPECT_TRUE(std::isnan(kernels::cross_entropy_forward<float>(nullptr, copy.data(), ignored.data(), 2, 3)));
}

TEST(CrossEntropyKernel, RejectsOutOfRangeTarget) {
  std::vector<float> x(6, 0.0f);
  std::vector<int32_t> y = {1, 3};
  EXPECT_THROW(kernels::cross_entropy_forward<float>(nullptr, x.data(), y.data(), 2, 3), Error);
}

}  // namespace
}  // namespace rotor
