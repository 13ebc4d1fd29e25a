#include "rotor/kernels/embedding.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/core/error.h"
#include "rotor/kernels/position_encoding.h"
#include "tests/kernels/finite_difference.h"

namespace rotor {
namespace {

TEST(EmbeddingKernel, BackwardMatchesFiniteDifferences) {
  Rng rng(2);
  const int64_t V = 5, C = 3, N = 7;
  auto table = testing::random_vector(rng, V * C), R = testing::random_vector(rng, N * C);
  std::vector<int32_t> ids = {0, 4, 4, 2, 0, 1, 4};
  std::vector<double> out(N * C);
  auto loss = [&] {
    kernels::embedding_forward<double>(out.data(), ids.data(), table.data(), N, C, V);
    return testing::dot(out, R);
  };
  std::vector<double> grad(V * C, 0.0);
  kernels::embedding_backward<double>(grad.data(), R.data(), ids.data(), N, C);
  testing::expect_gradients_match({{"table", &table, &grad}}, loss);
}

TEST(EmbeddingKernel, RejectsOutOfRangeIds) {
  std::vector<float> table(6), out(2);
  std::vector<int32_t> ids = {3};
  EXPECT_THROW(kernels::embedding_forward<float>(out.data(), ids.data(), table.data(), 1, 2, 3), Error);
}

TEST(PositionEncoding, LearnedBackwardMatchesFiniteDifferences) {
  Rng rng(4);
  const int64_t B = 3, T = 4, C = 2;
  auto table = testing::random_vector(rng, T * C), x0 = testing::random_vector(rng, B * T * C),
       R = testing::random_vector(rng, B * T * C);
  auto loss = [&] {
    std::vector<double> x = x0;
    kernels::add_position_forward<double>(x.data(), table.data(), B, T, C);
    return testing::dot(x, R);
  };
  std::vector<double> grad(T * C, 0.0);
  kernels::add_position_backward<double>(grad.data(), R.data(), B, T, C);
  testing::expect_gradients_match({{"table", &table, &grad}}, loss);
}

TEST(PositionEncoding, SinusoidalValues) {
  const int64_t T = 10, C = 8;
  std::vector<double> t(T * C);
  kernels::sinusoidal_table<double>(t.data(), T, C);
  // pe[p, 2i] = sin(p / 10000^(2i/C)), pe[p, 2i+1] = cos(...)
  EXPECT_NEAR(t[3 * C + 0], std::sin(3.0), 1e-15);
  EXPECT_NEAR(t[3 * C + 1], std::cos(3.0), 1e-15);
  EXPECT_NEAR(t[7 * C + 4], std::sin(7.0 / std::pow(10000.0, 4.0 / 8.0)), 1e-15);
  EXPECT_NEAR(t[7 * C + 5], std::cos(7.0 / std::pow(10000.0, 4.0 / 8.0)), 1e-15);
}

}  // namespace
}  // namespace rotor
