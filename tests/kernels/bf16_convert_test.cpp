#include "rotor/kernels/bf16_convert.h"

#include <gtest/gtest.h>

#include <vector>

#include "rotor/core/rng.h"

namespace rotor {
namespace {

// prepare_output_grad_bf16 against a plain loop: the product with the factor, its bf16 rounding and the
// column sums, for shapes with and without partial vectors and row blocks.
TEST(Bf16Convert, PrepareOutputGradMatchesPlainLoop) {
  for (auto [N, C] : {std::pair<int64_t, int64_t>{64, 48}, {37, 40}, {16, 16}, {5, 3}, {48, 33}}) {
    for (bool with_factor : {false, true}) {
      Rng rng(uint64_t(N * 100 + C));
      std::vector<float> g(N * C), f(N * C);
      for (auto& v : g) v = float(rng.normal());
      for (auto& v : f) v = float(rng.normal());
      std::vector<bf16> d16(N * C);
      std::vector<float> bias(C, 0.5f);
      kernels::prepare_output_grad_bf16(d16.data(), bias.data(), g.data(), with_factor ? f.data() : nullptr, N, C);
      for (int64_t c = 0; c < C; ++c) {
        double sum = 0;
        for (int64_t n = 0; n < N; ++n) {
          const float v = with_factor ? g[n * C + c] * f[n * C + c] : g[n * C + c];
          sum += v;
          ASSERT_EQ(d16[n * C + c].bits, float_to_bf16(v).bits) << N << "x" << C << " at " << n << "," << c;
        }
        EXPECT_NEAR(bias[c], 0.5 + sum, 1e-4 * (1 + std::abs(sum)));
      }
      // the bias gradient alone
      std::vector<float> bias2(C, 0.5f);
      kernels::prepare_output_grad_bf16(nullptr, bias2.data(), g.data(), with_factor ? f.data() : nullptr, N, C);
      for (int64_t c = 0; c < C; ++c) ASSERT_EQ(bias2[c], bias[c]);
    }
  }
}

}  // namespace
}  // namespace rotor
