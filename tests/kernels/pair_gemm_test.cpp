// The bf16 pair-panel weight gradient (kernels/pair_gemm.h) against a double loop over the same bf16
// values: both packing paths (dweight taller or wider than the other operand), several reduction slices,
// accumulation into existing values, and the same bits at 1 and 2 threads.
#include "rotor/kernels/pair_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/core/threads.h"

namespace rotor {
namespace {

TEST(PairGemm, WeightGradientMatchesDoubleLoop) {
  struct Case { int64_t N, IN, OUT; };
  for (const Case& c : {Case{64, 32, 32}, Case{130, 64, 96}, Case{34, 96, 32}, Case{2 * 1024 + 6, 32, 64}}) {
    SCOPED_TRACE(::testing::Message() << "N=" << c.N << " IN=" << c.IN << " OUT=" << c.OUT);
    if (!kernels::weight_gradient_bf16_supported(c.N, c.IN, c.OUT)) GTEST_SKIP() << "this build has no AVX512-BF16";
    Rng rng(uint64_t(c.N + c.IN));
    std::vector<bf16> dout(c.N * c.OUT), inp(c.N * c.IN);
    for (auto& v : dout) v = float_to_bf16(float(rng.normal()));
    for (auto& v : inp) v = float_to_bf16(float(rng.normal()));
    std::vector<float> dw(c.OUT * c.IN);
    for (auto& v : dw) v = float(rng.normal());
    const std::vector<float> before = dw;
    kernels::weight_gradient_bf16(dw.data(), dout.data(), inp.data(), c.N, c.IN, c.OUT);
    for (int64_t o = 0; o < c.OUT; ++o)
      for (int64_t i = 0; i < c.IN; ++i) {
        double want = before[o * c.IN + i], mag = std::abs(want);
        for (int64_t n = 0; n < c.N; ++n) {
          const double p = double(bf16_to_float(dout[n * c.OUT + o])) * bf16_to_float(inp[n * c.IN + i]);
          want += p;
          mag += std::abs(p);
        }
        ASSERT_NEAR(dw[o * c.IN + i], want, 1e-6 * mag) << "at " << o << "," << i;
      }
    // the same bits with two threads (each output block belongs to one task)
    const int threads = num_threads();
    set_num_threads(2);
    std::vector<float> dw2 = before;
    kernels::weight_gradient_bf16(dw2.data(), dout.data(), inp.data(), c.N, c.IN, c.OUT);
    set_num_threads(threads);
    for (size_t k = 0; k < dw.size(); ++k) ASSERT_EQ(dw2[k], dw[k]) << k;
  }
}

TEST(PairGemm, UnsupportedSizesAreRefused) {
  EXPECT_FALSE(kernels::weight_gradient_bf16_supported(33, 32, 32));  // odd reduction length
  EXPECT_FALSE(kernels::weight_gradient_bf16_supported(32, 48, 32));  // IN not a multiple of 32
  EXPECT_FALSE(kernels::weight_gradient_bf16_supported(32, 32, 40));  // OUT not a multiple of 32
  std::vector<float> dw(32 * 48);
  std::vector<bf16> a(32 * 32), b(32 * 48);
  EXPECT_THROW(kernels::weight_gradient_bf16(dw.data(), a.data(), b.data(), 32, 48, 32), Error);
}

}  // namespace
}  // namespace rotor
