#include "rotor/kernels/linear.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "rotor/kernels/bf16_convert.h"
#include "rotor/core/rng.h"
#include "tests/kernels/finite_difference.h"

namespace rotor {
namespace {

TEST(LinearKernel, DoubleBackwardMatchesFiniteDifferences) {
  Rng rng(8);
  const int64_t N = 4, IN = 5, OUT = 3;
  auto x = testing::random_vector(rng, N * IN), w = testing::random_vector(rng, OUT * IN),
       b = testing::random_vector(rng, OUT), R = testing::random_vector(rng, N * OUT);
  std::vector<double> out(N * OUT);
  auto loss = [&] {
    kernels::linear_forward<double>(out.data(), x.data(), w.data(), b.data(), N, IN, OUT);
    return testing::dot(out, R);
  };
  std::vector<double> dx(N * IN, 0.0), dw(OUT * IN, 0.0), db(OUT, 0.0);
  kernels::linear_backward<double>(dx.data(), dw.data(), db.data(), R.data(), x.data(), w.data(), N, IN, OUT);
  testing::expect_gradients_match({{"x", &x, &dx}, {"weight", &w, &dw}, {"bias", &b, &db}}, loss);
}

// The float path (and its bf16 form) against the double loops, at odd sizes and at sizes that are
// multiples of 32 (the sizes rotor's own bf16 kernels take).
class LinearSizes : public ::testing::TestWithParam<std::array<int64_t, 3>> {};

TEST_P(LinearSizes, FloatAndBf16MatchDouble) {
  Rng rng(11);
  const auto [N, IN, OUT] = GetParam();
  auto x = testing::random_vector(rng, N * IN), w = testing::random_vector(rng, OUT * IN),
       b = testing::random_vector(rng, OUT), g = testing::random_vector(rng, N * OUT);
  std::vector<double> out(N * OUT), dx(N * IN, 0.0), dw(OUT * IN, 0.0), db(OUT, 0.0);
  kernels::linear_forward<double>(out.data(), x.data(), w.data(), b.data(), N, IN, OUT);
  kernels::linear_backward<double>(dx.data(), dw.data(), db.data(), g.data(), x.data(), w.data(), N, IN, OUT);
  std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), bf(b.begin(), b.end()), gf(g.begin(), g.end());
  std::vector<float> of(N * OUT), dxf(N * IN, 0.0f), dwf(OUT * IN, 0.0f), dbf(OUT, 0.0f);
  kernels::linear_forward<float>(of.data(), xf.data(), wf.data(), bf.data(), N, IN, OUT);
  kernels::linear_backward<float>(dxf.data(), dwf.data(), dbf.data(), gf.data(), xf.data(), wf.data(), N, IN, OUT);
  for (int64_t i = 0; i < N * OUT; ++i) ASSERT_NEAR(of[i], out[i], 1e-4 * (1 + std::abs(out[i])));
  for (int64_t i = 0; i < N * IN; ++i) ASSERT_NEAR(dxf[i], dx[i], 1e-4 * (1 + std::abs(dx[i])));
  for (int64_t i = 0; i < OUT * IN; ++i) ASSERT_NEAR(dwf[i], dw[i], 1e-4 * (1 + std::abs(dw[i])));
  for (int64_t i = 0; i < OUT; ++i) ASSERT_NEAR(dbf[i], db[i], 1e-4 * (1 + std::abs(db[i])));

  std::vector<bf16> x16(N * IN), w16(OUT * IN), g16(N * OUT);
  kernels::float_to_bf16_buffer(x16.data(), xf.data(), N * IN);
  kernels::float_to_bf16_buffer(w16.data(), wf.data(), OUT * IN);
  kernels::float_to_bf16_buffer(g16.data(), gf.data(), N * OUT);
  // The reference: the double loops on the same bf16-rounded operands. Products of two bf16 values are
  // exact in f32, so the only error left is f32 accumulation: the f32 tolerance applies.
  std::vector<float> xr(N * IN), wr(OUT * IN), gr(N * OUT);
  kernels::bf16_to_float_buffer(xr.data(), x16.data(), N * IN);
  kernels::bf16_to_float_buffer(wr.data(), w16.data(), OUT * IN);
  kernels::bf16_to_float_buffer(gr.data(), g16.data(), N * OUT);
  const std::vector<double> xd(xr.begin(), xr.end()), wd(wr.begin(), wr.end()), gd(gr.begin(), gr.end());
  std::fill(dx.begin(), dx.end(), 0.0);
  std::fill(dw.begin(), dw.end(), 0.0);
  std::fill(db.begin(), db.end(), 0.0);
  kernels::linear_forward<double>(out.data(), xd.data(), wd.data(), b.data(), N, IN, OUT);
  kernels::linear_backward<double>(dx.data(), dw.data(), db.data(), gd.data(), xd.data(), wd.data(), N, IN, OUT);
  std::vector<double> db_f32(OUT, 0.0);  // the bias gradient sums the unrounded f32 dout
  for (int64_t r = 0; r < N; ++r)
    for (int64_t o = 0; o < OUT; ++o) db_f32[o] += g[r * OUT + o];
  kernels::linear_forward_bf16(of.data(), x16.data(), w16.data(), bf.data(), N, IN, OUT);
  for (int64_t i = 0; i < N * OUT; ++i) ASSERT_NEAR(of[i], out[i], 1e-4 * (1 + std::abs(out[i])));
  std::fill(dxf.begin(), dxf.end(), 0.0f);
  std::fill(dwf.begin(), dwf.end(), 0.0f);
  std::fill(dbf.begin(), dbf.end(), 0.0f);
  kernels::linear_backward_bf16(dxf.data(), dwf.data(), dbf.data(), gf.data(), g16.data(), x16.data(), w16.data(), N, IN,
                                OUT);
  for (int64_t i = 0; i < N * IN; ++i) ASSERT_NEAR(dxf[i], dx[i], 1e-4 * (1 + std::abs(dx[i])));
  for (int64_t i = 0; i < OUT * IN; ++i) ASSERT_NEAR(dwf[i], dw[i], 1e-4 * (1 + std::abs(dw[i])));
  for (int64_t i = 0; i < OUT; ++i) db[i] = db_f32[i];
  for (int64_t i = 0; i < OUT; ++i) ASSERT_NEAR(dbf[i], db[i], 1e-4 * (1 + std::abs(db[i])));
}

INSTANTIATE_TEST_SUITE_P(LinearKernel, LinearSizes,
                         ::testing::Values(std::array<int64_t, 3>{70, 48, 33}, std::array<int64_t, 3>{64, 64, 96},
                                           std::array<int64_t, 3>{40, 128, 32}));

// overwrite_dweight writes the bf16 weight gradient (=) without reading dweight: into a NaN-filled buffer it
// gives the bits of accumulating into zeros, on rotor's pair kernels (sizes multiples of 32) and on the
// oneDNN path (IN 784, OUT 10: the MLP's layers), and the input gradient is the same either way.
TEST(LinearKernel, Bf16WeightGradientOverwriteMatchesAccumulateIntoZeros) {
  for (const std::array<int64_t, 3> size : {std::array<int64_t, 3>{128, 64, 96}, std::array<int64_t, 3>{128, 784, 64},
                                            std::array<int64_t, 3>{24, 64, 10}}) {
    const int64_t N = size[0], IN = size[1], OUT = size[2];
    SCOPED_TRACE(::testing::Message() << "N=" << N << " IN=" << IN << " OUT=" << OUT);
    Rng rng(uint64_t(N * IN + OUT));
    auto random = [&](int64_t n) {
      std::vector<bf16> v(n);
      for (auto& x : v) x = float_to_bf16(float(rng.normal()));
      return v;
    };
    const auto dout = random(N * OUT), inp = random(N * IN), weight = random(OUT * IN);
    std::vector<float> dx_add(N * IN), dw_add(OUT * IN, 0.0f), dx_set(N * IN), dw_set(OUT * IN, std::nanf(""));
    kernels::linear_backward_bf16_prepared(dx_add.data(), dw_add.data(), dout.data(), inp.data(), weight.data(), N, IN,
                                           OUT, /*overwrite_dinp=*/true);
    kernels::linear_backward_bf16_prepared(dx_set.data(), dw_set.data(), dout.data(), inp.data(), weight.data(), N, IN,
                                           OUT, /*overwrite_dinp=*/true, nullptr, /*overwrite_dweight=*/true);
    for (size_t k = 0; k < dw_add.size(); ++k) ASSERT_EQ(dw_set[k], dw_add[k]) << k;
    for (size_t k = 0; k < dx_add.size(); ++k) ASSERT_EQ(dx_set[k], dx_add[k]) << k;
    double norm = 0;
    for (float v : dw_add) norm += double(v) * v;
    EXPECT_GT(norm, 0.0);
  }
}

}  // namespace
}  // namespace rotor
