// S4D: the convolution and the recurrence against S4D written with torch's complex numbers and an FFT
// convolution (tests/nn/make_mixer_reference.py), against each other, gradients against finite differences
// (gradcheck registry), causality, S4D-Lin initialisation, step() decoding.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"
#include "rotor/core/threads.h"
#include "rotor/nn/init.h"
#include "rotor/nn/s4d.h"
#include "tests/nn/mixer_test_util.h"

namespace rotor::nn {
namespace {

namespace ag = rotor::autograd;
using namespace rotor::nn::testing;

S4DParams params_of(const ag::VarList& in) { return {in[1], in[2], in[3], in[4], in[5]}; }

void register_s4d_gradchecks(ag::GradcheckRegistry& r) {
  // (B, T, H, N) = (2, 5, 2, 3) and (1, 4, 3, 2)
  const std::vector<std::vector<Shape>> shapes = {{{2, 5, 2}, {2}, {2, 3}, {2, 3}, {2, 3, 2}, {2}},
                                                   {{1, 4, 3}, {3}, {3, 2}, {3, 2}, {3, 2, 2}, {3}}};
  r.add({"s4d_convolution", "T 5 and 4", shapes,
         [](const ag::VarList& in) { return s4d_convolution_forward(in[0], params_of(in)); }});
  // The convolution op alone: u [B, T, H], K [H, T]; a long-ish T over 17 channels, and T 1.
  r.add(ag::GradcheckCase{"long_causal_conv", "T 6, 9 and 1",
                          {{{2, 6, 3}, {3, 6}}, {{1, 9, 17}, {17, 9}}, {{3, 1, 2}, {2, 1}}},
                          [](const ag::VarList& in) { return long_causal_conv(in[0], in[1]); }}
            .with_kernels({"long_conv_backward"}));
  r.add({"s4d_recurrence", "T 5 and 4", shapes,
         [](const ag::VarList& in) { return s4d_recurrent_forward(in[0], params_of(in)); }});
}

const bool registered = (register_s4d_gradchecks(ag::gradcheck_registry()), true);

TEST(S4D, MatchesTorchReference) {
  for (DType dtype : {DType::f32, DType::f64})
    for (bool conv : {true, false}) {
      SCOPED_TRACE(cat(dtype_name(dtype), conv ? " convolution" : " recurrence"));
      expect_function_matches_reference(
          "s4d", {"u", "log_dt", "log_A_real", "A_imag", "C", "D"},
          [conv](const auto& in) {
            return conv ? s4d_convolution_forward(in[0], params_of(in)) : s4d_recurrent_forward(in[0], params_of(in));
          },
          dtype, dtype == DType::f32 ? 1e-4 : 1e-10);
    }
}

TEST(S4D, ConvolutionEqualsRecurrence) {
  Rng rng(41);
  S4D m(4, 8, rng, DType::f64);
  const Tensor u = normal_tensor({2, 20, 4}, 0, 1, rng, DType::f64);
  const Tensor a = m.forward(Var(u)).value(), b = s4d_recurrent_forward(Var(u), m.params()).value();
  EXPECT_LE(max_abs_diff(a, b), 1e-12);
  S4DState s;
  for (int64_t t = 0; t < 20; ++t)
    EXPECT_LE(max_abs_diff(m.step(Var(u.select(1, t).contiguous()), s).value(), a.select(1, t)), 1e-12) << t;
}

// The convolution op's gradients against the recurrence's (tape) at a size where the kernel splits its work
// over two threads and takes its 64-channel, 4-row register path (T 66: a ragged last tile), and the same at
// 1 and 2 threads bit for bit (outputs and gradients).
TEST(S4D, ConvolutionGradientsEqualRecurrenceAtAnyThreadCount) {
  Rng rng(44);
  S4D m(64, 4, rng, DType::f32);
  const Var u(normal_tensor({2, 66, 64}, 0, 1, rng, DType::f32), true);
  const Tensor seed = normal_tensor({2, 66, 64}, 0, 1, rng, DType::f32);
  std::vector<Var> wrt{u, m.params().log_dt, m.params().log_A_real, m.params().A_imag, m.params().C, m.params().D};
  auto grads = [&](bool conv) {
    const Var y = conv ? m.forward(u) : s4d_recurrent_forward(u, m.params());
    std::vector<Tensor> out{y.value()};
    for (const Var& g : ag::grad(ag::sum(ag::mul(y, Var(seed))), wrt)) out.push_back(g.value());
    return out;
  };
  const auto rec = grads(false);
  const int threads = num_threads();
  set_num_threads(1);
  const auto one = grads(true);
  set_num_threads(2);
  const auto two = grads(true);
  set_num_threads(threads);
  for (size_t i = 0; i < rec.size(); ++i) {
    EXPECT_LE(max_abs_diff(one[i], rec[i]), 2e-5 * std::max(1.0, max_abs_diff(rec[i], Tensor::zeros(rec[i].shape(), DType::f64)))) << i;
    EXPECT_EQ(max_abs_diff(one[i], two[i]), 0.0) << i;
  }
}

TEST(S4D, IsCausal) {
  Rng rng(42);
  S4D m(3, 4, rng);
  expect_causal([&](const Tensor& in) { return m.forward(Var(in)).value(); }, normal_tensor({1, 9, 3}, 0, 1, rng), 5,
                rng);
}

TEST(S4D, LinInitialisation) {
  Rng rng(43);
  S4D m(2, 5, rng, DType::f64);
  const auto re = m.params().log_A_real.value().to_double_vector(), im = m.params().A_imag.value().to_double_vector();
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t n = 0; n < 5; ++n) {
      EXPECT_NEAR(-std::exp(re[h * 5 + n]), -0.5, 1e-15);  // A_n = -1/2 + i pi n
      EXPECT_NEAR(im[h * 5 + n], std::numbers::pi * static_cast<double>(n), 1e-15);
    }
  for (double dt : m.params().log_dt.value().to_double_vector()) {
    EXPECT_GE(std::exp(dt), 1e-3 - 1e-12);
    EXPECT_LE(std::exp(dt), 1e-1 + 1e-12);
  }
  EXPECT_THROW(S4D(0, 4, rng), Error);
  EXPECT_THROW(m.forward(Var(Tensor::zeros({1, 4, 3}, DType::f64))), Error);  // 3 channels for a 2-channel layer
}

}  // namespace
}  // namespace rotor::nn
