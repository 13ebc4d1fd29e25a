// The bf16 pair-panel linear products (kernels/pair_gemm.h) against double loops over the same bf16
// values. Weight gradient: both packing paths (dweight taller or wider than the other operand), several
// reduction slices, accumulation into existing values, the same bits at 1 and 2 threads. Forward and
// input gradient: f32 results (with bias; written or added), and bf16 results equal to the f32 ones
// rounded once.
#include "rotor/kernels/pair_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/core/threads.h"

namespace rotor {
namespace {

// Whether this build has the pair kernels: with AVX512-BF16 they must take every size used below; without
// it they refuse every size (the callers take oneDNN) and the tests check only that.
#if defined(__AVX512BF16__)
constexpr bool kPairKernels = true;
#else
constexpr bool kPairKernels = false;
#endif

TEST(PairGemm, WeightGradientMatchesDoubleLoop) {
  struct Case { int64_t N, IN, OUT; };
  for (const Case& c : {Case{64, 32, 32}, Case{130, 64, 96}, Case{34, 96, 32}, Case{2 * 1024 + 6, 32, 64}}) {
    SCOPED_TRACE(::testing::Message() << "N=" << c.N << " IN=" << c.IN << " OUT=" << c.OUT);
    ASSERT_EQ(kernels::weight_gradient_bf16_supported(c.N, c.IN, c.OUT), kPairKernels);
    if (!kPairKernels) continue;
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
    // written (accumulate false) into a NaN-filled buffer: the bits of accumulating into zeros
    std::vector<float> added(dw.size(), 0.0f), written(dw.size(), std::nanf(""));
    kernels::weight_gradient_bf16(added.data(), dout.data(), inp.data(), c.N, c.IN, c.OUT);
    kernels::weight_gradient_bf16(written.data(), dout.data(), inp.data(), c.N, c.IN, c.OUT, /*accumulate=*/false);
    for (size_t k = 0; k < dw.size(); ++k) ASSERT_EQ(written[k], added[k]) << k;
  }
}

std::vector<bf16> random_bf16(Rng& rng, int64_t n) {
  std::vector<bf16> v(n);
  for (auto& x : v) x = float_to_bf16(float(rng.normal()));
  return v;
}

TEST(PairGemm, ForwardAndInputGradientMatchDoubleLoops) {
  struct Case { int64_t N, IN, OUT; };
  for (const Case& c : {Case{8, 32, 32}, Case{40, 64, 96}, Case{136, 96, 32}}) {
    SCOPED_TRACE(::testing::Message() << "N=" << c.N << " IN=" << c.IN << " OUT=" << c.OUT);
    ASSERT_EQ(kernels::linear_pairs_supported(c.N, c.IN, c.OUT), kPairKernels);
    if (!kPairKernels) continue;
    Rng rng(uint64_t(7 * c.N + c.OUT));
    const auto x = random_bf16(rng, c.N * c.IN), w = random_bf16(rng, c.OUT * c.IN), dy = random_bf16(rng, c.N * c.OUT);
    std::vector<float> bias(c.OUT);
    for (auto& b : bias) b = float(rng.normal());
    auto f = [](bf16 v) { return double(bf16_to_float(v)); };
    // forward
    std::vector<float> y(c.N * c.OUT);
    std::vector<bf16> y16(c.N * c.OUT);
    kernels::linear_forward_pairs<float>(y.data(), x.data(), w.data(), bias.data(), c.N, c.IN, c.OUT);
    kernels::linear_forward_pairs<bf16>(y16.data(), x.data(), w.data(), bias.data(), c.N, c.IN, c.OUT);
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t o = 0; o < c.OUT; ++o) {
        double want = bias[o], mag = std::abs(want);
        for (int64_t i = 0; i < c.IN; ++i) {
          want += f(x[n * c.IN + i]) * f(w[o * c.IN + i]);
          mag += std::abs(f(x[n * c.IN + i]) * f(w[o * c.IN + i]));
        }
        ASSERT_NEAR(y[n * c.OUT + o], want, 1e-6 * mag) << n << "," << o;
        ASSERT_EQ(y16[n * c.OUT + o].bits, float_to_bf16(y[n * c.OUT + o]).bits) << n << "," << o;
      }
    // input gradient: written, added, and in bf16
    std::vector<float> dx(c.N * c.IN), dx_add(c.N * c.IN);
    for (auto& v : dx_add) v = float(rng.normal());
    const std::vector<float> start = dx_add;
    std::vector<bf16> dx16(c.N * c.IN);
    kernels::linear_input_grad_pairs<float>(dx.data(), dy.data(), w.data(), c.N, c.IN, c.OUT, false);
    kernels::linear_input_grad_pairs<float>(dx_add.data(), dy.data(), w.data(), c.N, c.IN, c.OUT, true);
    kernels::linear_input_grad_pairs<bf16>(dx16.data(), dy.data(), w.data(), c.N, c.IN, c.OUT, false);
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t i = 0; i < c.IN; ++i) {
        double want = 0, mag = 0;
        for (int64_t o = 0; o < c.OUT; ++o) {
          want += f(dy[n * c.OUT + o]) * f(w[o * c.IN + i]);
          mag += std::abs(f(dy[n * c.OUT + o]) * f(w[o * c.IN + i]));
        }
        const int64_t k = n * c.IN + i;
        ASSERT_NEAR(dx[k], want, 1e-6 * mag) << n << "," << i;
        ASSERT_NEAR(dx_add[k], start[k] + want, 1e-6 * (mag + std::abs(start[k]))) << n << "," << i;
        ASSERT_EQ(dx16[k].bits, float_to_bf16(dx[k]).bits) << n << "," << i;
      }
  }
}

// With two threads (sizes above the parallel threshold, so the packing and the products are split):
// the same bits as with one.
TEST(PairGemm, TwoThreadsGiveTheSameBits) {
  const int64_t N = 64, IN = 256, OUT = 320;
  ASSERT_EQ(kernels::linear_pairs_supported(N, IN, OUT), kPairKernels);
  if (!kPairKernels) return;
  Rng rng(17);
  const auto x = random_bf16(rng, N * IN), w = random_bf16(rng, OUT * IN), dy = random_bf16(rng, N * OUT);
  std::vector<float> bias(OUT, 0.125f);
  auto run = [&](int threads) {
    const int before = num_threads();
    set_num_threads(threads);
    std::vector<float> y(N * OUT), dx(N * IN), dw(OUT * IN, 0.0f);
    std::vector<bf16> y16(N * OUT), dx16(N * IN);
    kernels::linear_forward_pairs<float>(y.data(), x.data(), w.data(), bias.data(), N, IN, OUT);
    kernels::linear_forward_pairs<bf16>(y16.data(), x.data(), w.data(), bias.data(), N, IN, OUT);
    kernels::linear_input_grad_pairs<float>(dx.data(), dy.data(), w.data(), N, IN, OUT, false);
    kernels::linear_input_grad_pairs<bf16>(dx16.data(), dy.data(), w.data(), N, IN, OUT, false);
    kernels::weight_gradient_bf16(dw.data(), dy.data(), x.data(), N, IN, OUT);
    set_num_threads(before);
    std::vector<float> all = y;
    all.insert(all.end(), dx.begin(), dx.end());
    all.insert(all.end(), dw.begin(), dw.end());
    for (bf16 v : y16) all.push_back(bf16_to_float(v));
    for (bf16 v : dx16) all.push_back(bf16_to_float(v));
    return all;
  };
  const auto one = run(1), two = run(2);
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], two[i]) << i;
}

TEST(PairGemm, UnsupportedSizesAreRefused) {
  EXPECT_FALSE(kernels::linear_pairs_supported(12, 32, 32));  // rows not a multiple of 8
  EXPECT_FALSE(kernels::linear_pairs_supported(16, 40, 32));
  EXPECT_FALSE(kernels::weight_gradient_bf16_supported(33, 32, 32));  // odd reduction length
  EXPECT_FALSE(kernels::weight_gradient_bf16_supported(32, 48, 32));  // IN not a multiple of 32
  EXPECT_FALSE(kernels::weight_gradient_bf16_supported(32, 32, 40));  // OUT not a multiple of 32
  std::vector<float> dw(32 * 48);
  std::vector<bf16> a(32 * 32), b(32 * 48);
  EXPECT_THROW(kernels::weight_gradient_bf16(dw.data(), a.data(), b.data(), 32, 48, 32), Error);
}

}  // namespace
}  // namespace rotor
