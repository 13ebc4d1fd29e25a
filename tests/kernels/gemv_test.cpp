#include "rotor/kernels/gemv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rotor/core/rng.h"

namespace rotor {
namespace {

// The packed matrix-vector products against a float64 loop over the same (f32 or bf16-rounded) values,
// for shapes with partial row blocks and partial column vectors.
TEST(Gemv, PackedProductsMatchPlainLoop) {
  for (auto [OUT, IN] : {std::pair<int64_t, int64_t>{16, 16}, {37, 45}, {5, 3}, {300, 1100}, {64, 32}, {1, 70}}) {
    Rng rng(uint64_t(OUT * 1000 + IN));
    std::vector<float> w(OUT * IN), x(IN);
    for (auto& v : w) v = float(rng.normal());
    for (auto& v : x) v = float(rng.normal());
    std::vector<bf16> x16(IN);
    for (int64_t i = 0; i < IN; ++i) x16[i] = float_to_bf16(x[i]);
    const kernels::GemvMatrix p32 = kernels::pack_gemv_f32(w.data(), OUT, IN);
    const kernels::GemvMatrix p16 = kernels::pack_gemv_bf16(w.data(), OUT, IN);
    std::vector<float> y32(OUT + 1, 7.0f), y16(OUT + 1, 7.0f);
    kernels::gemv_f32(y32.data(), x.data(), p32);
    kernels::gemv_bf16(y16.data(), x16.data(), p16);
    EXPECT_EQ(y32[OUT], 7.0f) << "wrote past OUT";
    EXPECT_EQ(y16[OUT], 7.0f) << "wrote past OUT";
    for (int64_t r = 0; r < OUT; ++r) {
      double s32 = 0, s16 = 0, mag = 0;
      for (int64_t i = 0; i < IN; ++i) {
        s32 += double(w[r * IN + i]) * x[i];
        s16 += double(bf16_to_float(float_to_bf16(w[r * IN + i]))) * bf16_to_float(x16[i]);
        mag += std::abs(double(w[r * IN + i]) * x[i]);
      }
      ASSERT_NEAR(y32[r], s32, 1e-5 * mag + 1e-6) << OUT << "x" << IN << " row " << r;
      ASSERT_NEAR(y16[r], s16, 1e-5 * mag + 1e-6) << OUT << "x" << IN << " row " << r;
    }
  }
}

}  // namespace
}  // namespace rotor
