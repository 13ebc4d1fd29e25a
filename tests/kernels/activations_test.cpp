#include "rotor/kernels/activations.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/core/error.h"
#include "tests/kernels/finite_difference.h"

namespace rotor {
namespace {

using kernels::Activation;

TEST(ActivationKernels, BackwardMatchesFiniteDifferences) {
  for (Activation act : {Activation::gelu_erf, Activation::gelu_tanh, Activation::silu, Activation::relu}) {
    Rng rng(int(act) + 1);
    const int64_t n = 37;
    auto x = testing::random_vector(rng, n, 2.0), R = testing::random_vector(rng, n);
    for (auto& v : x)
      if (std::abs(v) < 1e-3) v = 0.5;  // keep relu away from its kink
    std::vector<double> out(n);
    auto loss = [&] {
      kernels::activation_forward<double>(act, out.data(), x.data(), n);
      return testing::dot(out, R);
    };
    std::vector<double> dx(n, 0.0);
    kernels::activation_backward<double>(act, dx.data(), R.data(), x.data(), n);
    SCOPED_TRACE(kernels::activation_name(act));
    testing::expect_gradients_match({{"x", &x, &dx}}, loss);
  }
}

TEST(ActivationKernels, GatedBackwardMatchesFiniteDifferences) {
  for (Activation act : {Activation::silu, Activation::gelu_erf}) {  // SwiGLU, GeGLU
    Rng rng(int(act) + 10);
    const int64_t N = 5, H = 11;
    auto x = testing::random_vector(rng, N * 2 * H), R = testing::random_vector(rng, N * H);
    std::vector<double> out(N * H);
    auto loss = [&] {
      kernels::gated_forward<double>(act, out.data(), x.data(), N, H);
      return testing::dot(out, R);
    };
    std::vector<double> dx(N * 2 * H, 0.0);
    kernels::gated_backward<double>(act, dx.data(), R.data(), x.data(), N, H);
    testing::expect_gradients_match({{"x", &x, &dx}}, loss);
  }
}

TEST(ActivationKernels, KnownValues) {
  // GELU(1) = 0.5 (1 + erf(1/sqrt 2)) = 0.841344746..., SiLU(1) = 1 / (1 + e^-1) = 0.731058578...
  std::vector<double> x = {1.0}, y(1);
  kernels::activation_forward<double>(Activation::gelu_erf, y.data(), x.data(), 1);
  EXPECT_NEAR(y[0], 0.5 * (1 + std::erf(1 / std::sqrt(2.0))), 1e-15);
  kernels::activation_forward<double>(Activation::silu, y.data(), x.data(), 1);
  EXPECT_NEAR(y[0], 1 / (1 + std::exp(-1.0)), 1e-15);
}

// The AVX-512 float path (vector exp/erf/tanh) against the double std:: path, including loop tails.
TEST(ActivationKernels, FloatMatchesDouble) {
  for (Activation act : {Activation::gelu_erf, Activation::gelu_tanh, Activation::silu, Activation::relu}) {
    Rng rng(77);
    const int64_t n = 1000 + 13;
    auto x = testing::random_vector(rng, n, 4.0);
    x[0] = -30, x[1] = 30, x[2] = 0, x[3] = -9, x[4] = 9;
    std::vector<double> y(n), dy(n, 0.0), g(n, 1.0);
    kernels::activation_forward<double>(act, y.data(), x.data(), n);
    kernels::activation_backward<double>(act, dy.data(), g.data(), x.data(), n);
    std::vector<float> xf(x.begin(), x.end()), yf(n), dyf(n, 0.0f), gf(n, 1.0f);
    kernels::activation_forward<float>(act, yf.data(), xf.data(), n);
    kernels::activation_backward<float>(act, dyf.data(), gf.data(), xf.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(yf[i], y[i], 2e-6 * (1 + std::abs(y[i]))) << kernels::activation_name(act) << " x=" << x[i];
      ASSERT_NEAR(dyf[i], dy[i], 2e-6 * (1 + std::abs(dy[i]))) << kernels::activation_name(act) << " x=" << x[i];
    }
  }
}

// The saved-derivative forward/backward pair equals the recomputing pair.
TEST(ActivationKernels, SavedGradientPathMatches) {
  for (Activation act : {Activation::gelu_erf, Activation::gelu_tanh, Activation::silu}) {
    Rng rng(3);
    const int64_t n = 333;
    std::vector<float> x(n), g(n), y(n), grad(n), d1(n, 0.0f), d2(n), y2(n);
    std::vector<bf16> y16(n);
    for (int64_t i = 0; i < n; ++i) x[i] = float(rng.normal() * 3), g[i] = float(rng.normal());
    kernels::activation_forward<float>(act, y.data(), x.data(), n);
    kernels::activation_backward<float>(act, d1.data(), g.data(), x.data(), n);
    std::vector<float> grad16(n);
    kernels::activation_forward_saving_grad(act, nullptr, y16.data(), grad16.data(), x.data(), n);
    kernels::activation_forward_saving_grad(act, y2.data(), nullptr, grad.data(), x.data(), n);
    EXPECT_THROW(kernels::activation_forward_saving_grad(act, y2.data(), y16.data(), grad.data(), x.data(), n), Error);
    kernels::activation_backward_from_grad(d2.data(), g.data(), grad.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_FLOAT_EQ(y2[i], y[i]);
      ASSERT_NEAR(bf16_to_float(y16[i]), y[i], 1e-2 * (1 + std::abs(y[i])));
      ASSERT_NEAR(d2[i], d1[i], 1e-6 * (1 + std::abs(d1[i])));
      ASSERT_EQ(grad16[i], grad[i]);
    }
  }
}

// The bf16 training forms on bf16 inputs: the forward equals the f32 form rounded once; the backward
// equals the f32 backward's dout * act'(x) rounded once, and its bias gradient the column sums of those
// products (shapes with partial vectors and a partial block of rows).
TEST(ActivationKernels, Bf16FormsMatchF32Forms) {
  for (Activation act : {Activation::gelu_erf, Activation::gelu_tanh, Activation::silu, Activation::relu}) {
    for (auto [N, C] : {std::pair<int64_t, int64_t>{21, 301}, {40, 64}, {3, 5}}) {
      SCOPED_TRACE(::testing::Message() << kernels::activation_name(act) << " " << N << "x" << C);
      Rng rng(8);
      const int64_t n = N * C;
      std::vector<bf16> x16(n), y16(n), y16_ref(n), g16(n), d16(n);
      std::vector<float> x(n), grad(n), g(n), d(n, 0.0f);
      for (int64_t i = 0; i < n; ++i) {
        x16[i] = float_to_bf16(float(rng.normal() * 3));
        x[i] = bf16_to_float(x16[i]);
        g16[i] = float_to_bf16(float(rng.normal()));
        g[i] = bf16_to_float(g16[i]);
      }
      kernels::activation_forward_bf16(act, y16.data(), x16.data(), n);
      kernels::activation_forward_saving_grad(act, nullptr, y16_ref.data(), grad.data(), x.data(), n);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y16[i].bits, y16_ref[i].bits) << i;
      std::vector<float> bias(C, 0.5f);
      kernels::activation_backward_prepare_bf16(act, d16.data(), bias.data(), g16.data(), x16.data(), N, C);
      kernels::activation_backward<float>(act, d.data(), g.data(), x.data(), n);
      // (as values: the f32 backward adds its product to +0, which turns a -0 product into +0)
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(bf16_to_float(d16[i]), bf16_to_float(float_to_bf16(d[i]))) << i;
      for (int64_t c = 0; c < C; ++c) {
        double sum = 0.5, scale = 1;
        for (int64_t r = 0; r < N; ++r) sum += d[r * C + c], scale += std::abs(d[r * C + c]);
        ASSERT_NEAR(bias[c], sum, 1e-6 * scale) << "column " << c;
      }
    }
  }
}

}  // namespace
}  // namespace rotor
