#include "rotor/kernels/layernorm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/kernels/bf16_convert.h"
#include "tests/kernels/finite_difference.h"

namespace rotor {
namespace {

using testing::GradInput;

TEST(LayerNormKernel, BackwardMatchesFiniteDifferences) {
  for (auto [N, C] : {std::pair<int64_t, int64_t>{3, 5}, {7, 16}, {40, 9}}) {
    Rng rng(N * 31 + C);
    auto x = testing::random_vector(rng, N * C, 2.0), w = testing::random_vector(rng, C), b = testing::random_vector(rng, C);
    auto R = testing::random_vector(rng, N * C);
    std::vector<double> out(N * C), mean(N), rstd(N);
    auto loss = [&] {
      kernels::layernorm_forward<double>(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5);
      return testing::dot(out, R);
    };
    loss();
    std::vector<double> dx(N * C, 0.5), dw(C, 0.25), db(C, -1.0);  // non-zero: backward must add
    kernels::layernorm_backward<double>(dx.data(), dw.data(), db.data(), R.data(), x.data(), w.data(), mean.data(),
                                        rstd.data(), N, C);
    for (auto& v : dx) v -= 0.5;
    for (auto& v : dw) v -= 0.25;
    for (auto& v : db) v += 1.0;
    testing::expect_gradients_match({{"x", &x, &dx}, {"weight", &w, &dw}, {"bias", &b, &db}}, loss);
  }
}

TEST(LayerNormKernel, ForwardNormalizesRows) {
  Rng rng(3);
  const int64_t N = 4, C = 64;
  auto x = testing::random_vector(rng, N * C, 3.0);
  std::vector<double> w(C, 1.0), b(C, 0.0), out(N * C), mean(N), rstd(N);
  kernels::layernorm_forward<double>(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    double s = 0, ss = 0;
    for (int64_t i = 0; i < C; ++i) s += out[n * C + i], ss += out[n * C + i] * out[n * C + i];
    EXPECT_NEAR(s / C, 0.0, 1e-12);
    EXPECT_NEAR(ss / C, 1.0, 1e-12);
  }
}

TEST(RmsNormKernel, BackwardMatchesFiniteDifferences) {
  for (auto [N, C] : {std::pair<int64_t, int64_t>{2, 7}, {33, 12}}) {
    Rng rng(N + C);
    auto x = testing::random_vector(rng, N * C), w = testing::random_vector(rng, C), R = testing::random_vector(rng, N * C);
    std::vector<double> out(N * C), rstd(N);
    auto loss = [&] {
      kernels::rmsnorm_forward<double>(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6);
      return testing::dot(out, R);
    };
    loss();
    std::vector<double> dx(N * C, 0.0), dw(C, 0.0);
    kernels::rmsnorm_backward<double>(dx.data(), dw.data(), R.data(), x.data(), w.data(), rstd.data(), N, C);
    testing::expect_gradients_match({{"x", &x, &dx}, {"weight", &w, &dw}}, loss);
  }
}

TEST(LayerNormKernel, FloatMatchesDouble) {
  Rng rng(9);
  const int64_t N = 50, C = 96;
  auto x = testing::random_vector(rng, N * C), w = testing::random_vector(rng, C), b = testing::random_vector(rng, C);
  std::vector<double> out(N * C), mean(N), rstd(N);
  kernels::layernorm_forward<double>(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5);
  std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), bf(b.begin(), b.end()), outf(N * C), mf(N), rf(N);
  kernels::layernorm_forward<float>(outf.data(), mf.data(), rf.data(), xf.data(), wf.data(), bf.data(), N, C, 1e-5);
  for (int64_t i = 0; i < N * C; ++i) EXPECT_NEAR(outf[i], out[i], 1e-4 * (1 + std::abs(out[i])));
}

}  // namespace
}  // namespace rotor

namespace rotor {
namespace {

// A residual connection fused into the norm: the same output as normalizing inp + residual, and that sum.
TEST(LayerNormKernels, FusedResidualMatchesSeparateAdd) {
  const int64_t N = 7, C = 37;
  Rng rng(12);
  std::vector<float> x(N * C), r(N * C), w(C), b(C), sum(N * C), ref_in(N * C);
  for (auto* v : {&x, &r, &w, &b})
    for (auto& e : *v) e = float(rng.normal());
  for (int64_t i = 0; i < N * C; ++i) ref_in[i] = x[i] + r[i];
  std::vector<float> y(N * C), y_ref(N * C), m(N), s(N), m_ref(N), s_ref(N);
  kernels::layernorm_forward<float>(y.data(), m.data(), s.data(), x.data(), w.data(), b.data(), N, C, 1e-5, r.data(),
                                    sum.data());
  kernels::layernorm_forward<float>(y_ref.data(), m_ref.data(), s_ref.data(), ref_in.data(), w.data(), b.data(), N, C,
                                    1e-5);
  for (int64_t i = 0; i < N * C; ++i) {
    ASSERT_EQ(sum[i], ref_in[i]);
    ASSERT_EQ(y[i], y_ref[i]);
  }
  std::vector<bf16> y16(N * C), y16_ref(N * C);
  kernels::rmsnorm_forward_bf16(y16.data(), s.data(), x.data(), w.data(), N, C, 1e-6, r.data(), sum.data());
  kernels::rmsnorm_forward_bf16(y16_ref.data(), s_ref.data(), ref_in.data(), w.data(), N, C, 1e-6);
  for (int64_t i = 0; i < N * C; ++i) ASSERT_EQ(y16[i].bits, y16_ref[i].bits);
}

// The bf16-gradient backwards equal the f32 ones on the same (rounded) gradient, up to the rounding
// of differently contracted multiply-adds.
TEST(LayerNormKernels, Bf16GradientBackwardMatchesF32) {
  const int64_t N = 9, C = 40;
  Rng rng(31);
  std::vector<float> x(N * C), w(C), b(C), g(N * C), y(N * C), m(N), s(N);
  std::vector<bf16> g16(N * C);
  for (auto* v : {&x, &w, &b})
    for (auto& e : *v) e = float(rng.normal());
  for (int64_t i = 0; i < N * C; ++i) g16[i] = float_to_bf16(float(rng.normal())), g[i] = bf16_to_float(g16[i]);
  kernels::layernorm_forward<float>(y.data(), m.data(), s.data(), x.data(), w.data(), b.data(), N, C, 1e-5);
  std::vector<float> dx(N * C, 0.5f), dw(C, 0.0f), db(C, 0.0f), dx2 = dx, dw2 = dw, db2 = db;
  kernels::layernorm_backward<float>(dx.data(), dw.data(), db.data(), g.data(), x.data(), w.data(), m.data(), s.data(),
                                     N, C);
  kernels::layernorm_backward_bf16(dx2.data(), dw2.data(), db2.data(), g16.data(), x.data(), w.data(), m.data(),
                                   s.data(), N, C);
  auto close = [](const std::vector<float>& a, const std::vector<float>& b) {
    for (size_t i = 0; i < a.size(); ++i)
      if (std::abs(a[i] - b[i]) > 1e-5f * (1 + std::abs(a[i]))) return false;
    return a.size() == b.size();
  };
  EXPECT_TRUE(close(dx, dx2));
  EXPECT_TRUE(close(dw, dw2));
  EXPECT_TRUE(close(db, db2));
  std::vector<float> rdx(N * C, 0.0f), rdw(C, 0.0f), rdx2 = rdx, rdw2 = rdw;
  kernels::rmsnorm_forward<float>(y.data(), s.data(), x.data(), w.data(), N, C, 1e-6);
  kernels::rmsnorm_backward<float>(rdx.data(), rdw.data(), g.data(), x.data(), w.data(), s.data(), N, C);
  kernels::rmsnorm_backward_bf16(rdx2.data(), rdw2.data(), g16.data(), x.data(), w.data(), s.data(), N, C);
  EXPECT_TRUE(close(rdx, rdx2));
  EXPECT_TRUE(close(rdw, rdw2));
}

// With a PreparedGradient the bf16 backwards also leave the finished input gradient prepared as the next
// linear layer's output gradient: the same bits and (up to summation order) the same bias gradient as
// prepare_output_grad_bf16 on the result. N spans more than one block of rows.
TEST(LayerNormKernels, Bf16BackwardPreparesTheNextGradient) {
  const int64_t N = 70, C = 40;
  Rng rng(32);
  std::vector<float> x(N * C), w(C), b(C), y(N * C), m(N), s(N);
  std::vector<bf16> g16(N * C);
  for (auto* v : {&x, &w, &b})
    for (auto& e : *v) e = float(rng.normal());
  for (auto& e : g16) e = float_to_bf16(float(rng.normal()));
  std::vector<float> dx0(N * C);
  for (auto& e : dx0) e = float(rng.normal());
  for (bool rms : {false, true}) {
    SCOPED_TRACE(rms ? "rmsnorm" : "layernorm");
    if (rms) kernels::rmsnorm_forward<float>(y.data(), s.data(), x.data(), w.data(), N, C, 1e-6);
    else kernels::layernorm_forward<float>(y.data(), m.data(), s.data(), x.data(), w.data(), b.data(), N, C, 1e-5);
    std::vector<float> dx = dx0, dx_ref = dx0, dw(C, 0.0f), db(C, 0.0f), dw_ref(C, 0.0f), db_ref(C, 0.0f);
    std::vector<float> next_bias(C, 0.25f), next_bias_ref(C, 0.25f);
    std::vector<bf16> next16(N * C), next16_ref(N * C);
    const kernels::PreparedGradient next{next16.data(), next_bias.data()};
    if (rms) {
      kernels::rmsnorm_backward_bf16(dx.data(), dw.data(), g16.data(), x.data(), w.data(), s.data(), N, C, &next);
      kernels::rmsnorm_backward_bf16(dx_ref.data(), dw_ref.data(), g16.data(), x.data(), w.data(), s.data(), N, C);
    } else {
      kernels::layernorm_backward_bf16(dx.data(), dw.data(), db.data(), g16.data(), x.data(), w.data(), m.data(),
                                       s.data(), N, C, &next);
      kernels::layernorm_backward_bf16(dx_ref.data(), dw_ref.data(), db_ref.data(), g16.data(), x.data(), w.data(),
                                       m.data(), s.data(), N, C);
    }
    kernels::prepare_output_grad_bf16(next16_ref.data(), next_bias_ref.data(), dx_ref.data(), nullptr, N, C);
    for (int64_t i = 0; i < N * C; ++i) {
      ASSERT_EQ(dx[i], dx_ref[i]) << i;
      ASSERT_EQ(next16[i].bits, next16_ref[i].bits) << i;
    }
    for (int64_t c = 0; c < C; ++c) {
      ASSERT_NEAR(dw[c], dw_ref[c], 1e-5 * (1 + std::abs(dw_ref[c]))) << c;
      ASSERT_EQ(db[c], db_ref[c]) << c;
      double scale = 1;
      for (int64_t r = 0; r < N; ++r) scale += std::abs(dx_ref[r * C + c]);
      ASSERT_NEAR(next_bias[c], next_bias_ref[c], 1e-6 * scale) << c;
    }
  }
}

}  // namespace
}  // namespace rotor
