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
  // The same op by FFT (any T: the method is forced), ragged channel groups (3, 17 and 40 channels).
  r.add(ag::GradcheckCase{"long_causal_conv", "FFT, T 6, 9, 1 and 5",
                          {{{2, 6, 3}, {3, 6}}, {{1, 9, 17}, {17, 9}}, {{3, 1, 2}, {2, 1}}, {{2, 5, 40}, {40, 5}}},
                          [](const ag::VarList& in) { return long_causal_conv(in[0], in[1], LongConvMethod::fft); }}
            .with_kernels({"long_conv_fft_backward"}));
  // The kernel op: p kept in (-0.09, 0) by the case so that z^l stays bounded over 70 lags (two blocks of 64).
  r.add(ag::GradcheckCase{"ssm_kernel", "T 7 and 70",
                          {{{2, 3}, {2, 3}, {2, 3}, {2, 3}}, {{3, 2}, {3, 2}, {3, 2}, {3, 2}}},
                          [](const ag::VarList& in) {
                            const int64_t T = in[0].size(0) == 2 ? 7 : 70;
                            return ssm_kernel(-0.05 * ag::exp(0.3 * in[0]), in[1], in[2], in[3], T);
                          }}
            .with_kernels({"ssm_kernel_backward"}));
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
  // the FFT path (T >= kLongConvFftFrom) equals the recurrence too
  const Tensor v = normal_tensor({2, 600, 4}, 0, 1, rng, DType::f64);
  EXPECT_LE(max_abs_diff(m.forward(Var(v)).value(), s4d_recurrent_forward(Var(v), m.params()).value()), 1e-11);
  S4DState s;
  for (int64_t t = 0; t < 20; ++t)
    EXPECT_LE(max_abs_diff(m.step(Var(u.select(1, t).contiguous()), s).value(), a.select(1, t)), 1e-12) << t;
}

// The convolution op's gradients against the recurrence's (tape) at sizes where the kernels split their
// work over two threads: T 66 takes the direct sum's 64-channel, 4-row register path (a ragged last tile),
// T 520 the FFT (n 2048); and the same at 1 and 2 threads bit for bit (outputs and gradients).
class S4DAtLength : public ::testing::TestWithParam<int64_t> {};

TEST_P(S4DAtLength, ConvolutionGradientsEqualRecurrenceAtAnyThreadCount) {
  const int64_t T = GetParam();
  Rng rng(44);
  S4D m(64, 4, rng, DType::f32);
  const Var u(normal_tensor({2, T, 64}, 0, 1, rng, DType::f32), true);
  const Tensor seed = normal_tensor({2, T, 64}, 0, 1, rng, DType::f32);
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

INSTANTIATE_TEST_SUITE_P(DirectAndFft, S4DAtLength, ::testing::Values(int64_t{66}, int64_t{520}));

// The FFT and the direct sum at lengths around a power of two (n 2048 for T 1000 and 1024, 4096 for 1025),
// f32, two batch rows, 40 channels (a ragged second group): outputs and both gradients.
TEST(S4D, FftConvolutionEqualsDirect) {
  for (int64_t T : {1000, 1024, 1025}) {
    SCOPED_TRACE(T);
    Rng rng(46);
    const Var u(normal_tensor({2, T, 40}, 0, 1, rng), true);
    const Var K(normal_tensor({40, T}, 0, 0.05, rng), true);
    const Tensor seed = normal_tensor({2, T, 40}, 0, 1, rng);
    auto run = [&](LongConvMethod method) {
      const Var y = long_causal_conv(u, K, method);
      std::vector<Tensor> out{y.value()};
      for (const Var& g : ag::grad(ag::sum(ag::mul(y, Var(seed))), {u, K})) out.push_back(g.value());
      return out;
    };
    const auto direct = run(LongConvMethod::direct), fft = run(LongConvMethod::fft);
    for (size_t i = 0; i < direct.size(); ++i) {
      const double scale = max_abs_diff(direct[i], Tensor::zeros(direct[i].shape(), DType::f32));
      EXPECT_GT(scale, 0.1) << i;
      EXPECT_LE(max_abs_diff(direct[i], fft[i]), 2e-5 * scale) << i;
    }
  }
}

// The kernel op against the kernel written with tape ops (exp, cos, sin of l p, l q), f64, over 1000 lags:
// checks the blocked powers z^(64 m) z^j far from l = 0.
TEST(S4D, KernelOpEqualsTapeFormula) {
  Rng rng(47);
  S4D m(3, 5, rng, DType::f64);
  const S4DParams& s = m.params();
  const int64_t T = 1000;
  const Var a = -ag::exp(s.log_A_real), dt = ag::unsqueeze(ag::exp(s.log_dt), 1);
  const Var p = a * dt, q = s.A_imag * dt;
  const Var cr = ag::select(s.C, 2, 0), ci = ag::select(s.C, 2, 1);
  const Var l(Tensor::arange(T, DType::f64).view({1, 1, T}));
  const Var pl = ag::unsqueeze(p, 2) * l, ql = ag::unsqueeze(q, 2) * l;
  const Var tape = 2.0 * ag::sum(ag::exp(pl) * (ag::unsqueeze(cr, 2) * ag::cos(ql) - ag::unsqueeze(ci, 2) * ag::sin(ql)), {1});
  const Var op = ssm_kernel(p, q, cr, ci, T);
  EXPECT_LE(max_abs_diff(op.value(), tape.value()), 1e-12);
  const Tensor seed = normal_tensor({3, T}, 0, 1, rng, DType::f64);
  const std::vector<Var> wrt{s.log_dt, s.log_A_real, s.A_imag, s.C};
  const auto g_op = ag::grad(ag::sum(ag::mul(op, Var(seed))), wrt);
  const auto g_tape = ag::grad(ag::sum(ag::mul(tape, Var(seed))), wrt);
  for (size_t i = 0; i < wrt.size(); ++i)
    EXPECT_LE(max_abs_diff(g_op[i].value(), g_tape[i].value()),
              1e-10 * std::max(1.0, max_abs_diff(g_tape[i].value(), Tensor::zeros(g_tape[i].shape(), DType::f64))))
        << i;
  EXPECT_THROW(ssm_kernel(p, q, cr, ag::unsqueeze(ci, 2), T), Error);
  EXPECT_THROW(ssm_kernel(p, q, cr, ci, 0), Error);
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
