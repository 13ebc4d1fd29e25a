#include "rotor/nn/s4d.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/indexing.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/views.h"
#include "rotor/kernels/long_conv.h"
#include "rotor/kernels/ssm_kernel.h"
#include "rotor/nn/init.h"

namespace rotor::nn {

namespace ag = rotor::autograd;

namespace {

// The discretised system per channel and state: Abar = exp(dt A) = (ar, ai), dt A = (p, q), and
// C Bbar = C (Abar - 1) / A = (cr, ci); all [H, N].
struct Discrete {
  Var p, q, ar, ai, cr, ci;
};

Discrete discretise(const S4DParams& s) {
  ROTOR_CHECK(s.log_A_real.dim() == 2 && s.A_imag.shape() == s.log_A_real.shape() && s.C.dim() == 3 &&
                  s.C.size(2) == 2 && s.log_dt.dim() == 1 && s.D.shape() == s.log_dt.shape() &&
                  s.log_dt.size(0) == s.log_A_real.size(0),
              "s4d: parameter shapes log_dt ", shape_str(s.log_dt.shape()), ", log_A_real ", shape_str(s.log_A_real.shape()),
              ", A_imag ", shape_str(s.A_imag.shape()), ", C ", shape_str(s.C.shape()), ", D ", shape_str(s.D.shape()),
              " do not form [H], [H, N], [H, N], [H, N, 2], [H]");
  const Var a = -ag::exp(s.log_A_real), b = s.A_imag;   // A = a + i b
  const Var dt = ag::unsqueeze(ag::exp(s.log_dt), 1);   // [H, 1]
  Discrete d;
  d.p = a * dt;
  d.q = b * dt;
  const Var e = ag::exp(d.p);
  d.ar = e * ag::cos(d.q);
  d.ai = e * ag::sin(d.q);
  // (Abar - 1) / A = (Abar - 1) conj(A) / |A|^2
  const Var nr = d.ar - 1.0, ni = d.ai, inv = 1.0 / (a * a + b * b);
  const Var br = (nr * a + ni * b) * inv, bi = (ni * a - nr * b) * inv;
  const Var c_re = ag::select(s.C, 2, 0), c_im = ag::select(s.C, 2, 1);
  d.cr = c_re * br - c_im * bi;
  d.ci = c_re * bi + c_im * br;
  return d;
}

}  // namespace

// -> [H, T]: K_l = 2 sum_n Re((cr + i ci) exp(l (p + i q))) = 2 sum_n e^{p l} (cr cos(q l) - ci sin(q l)).
Var s4d_kernel(const S4DParams& s, int64_t length) {
  const Discrete d = discretise(s);
  return ssm_kernel(d.p, d.q, d.cr, d.ci, length);
}

namespace {
template <class F>
Var ssm_kernel_typed(const Var& p, const Var& q, const Var& cr, const Var& ci, int64_t T, DType dt) {
  const Tensor pv = p.value().to(dt).contiguous(), qv = q.value().to(dt).contiguous();
  const Tensor crv = cr.value().to(dt).contiguous(), civ = ci.value().to(dt).contiguous();
  const int64_t H = p.size(0), N = p.size(1);
  Tensor K = Tensor::empty({H, T}, dt);
  kernels::ssm_kernel_forward<F>(K.data<F>(), pv.data<F>(), qv.data<F>(), crv.data<F>(), civ.data<F>(), H, N, T);
  return autograd::record("ssm_kernel", K, {p, q, cr, ci}, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dt).contiguous();
    std::vector<Tensor> d;
    for (int i = 0; i < 4; ++i) d.push_back(Tensor::empty({H, N}, dt));
    kernels::ssm_kernel_backward<F>(d[0].data<F>(), d[1].data<F>(), d[2].data<F>(), d[3].data<F>(), g.data<F>(),
                                    pv.data<F>(), qv.data<F>(), crv.data<F>(), civ.data<F>(), H, N, T);
    return d;
  });
}

template <class F>
Var long_causal_conv_typed(const Var& u, const Var& K, DType dt, bool fft) {
  const Tensor uv = u.value().to(dt).contiguous(), kv = K.value().to(dt).contiguous();
  const int64_t B = u.size(0), T = u.size(1), H = u.size(2);
  Tensor y = Tensor::empty({B, T, H}, dt);
  (fft ? kernels::long_conv_fft_forward<F> : kernels::long_conv_forward<F>)(y.data<F>(), uv.data<F>(), kv.data<F>(),
                                                                           B, T, H);
  return autograd::record("long_causal_conv", y, {u, K}, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dt).contiguous();
    Tensor du = Tensor::empty({B, T, H}, dt), dK = Tensor::empty({H, T}, dt);
    (fft ? kernels::long_conv_fft_backward<F> : kernels::long_conv_backward<F>)(
        du.data<F>(), dK.data<F>(), g.data<F>(), uv.data<F>(), kv.data<F>(), B, T, H);
    return std::vector<Tensor>{du, dK};
  });
}
}  // namespace

Var ssm_kernel(const Var& p, const Var& q, const Var& cr, const Var& ci, int64_t length) {
  ROTOR_CHECK(p.dim() == 2 && q.shape() == p.shape() && cr.shape() == p.shape() && ci.shape() == p.shape() &&
                  length > 0,
              "ssm_kernel: p ", shape_str(p.shape()), ", q ", shape_str(q.shape()), ", cr ", shape_str(cr.shape()),
              ", ci ", shape_str(ci.shape()), " should all be [H, N], and the length ", length, " positive");
  const DType dt = p.dtype();
  ROTOR_CHECK(dt == DType::f32 || dt == DType::f64, "ssm_kernel: wants f32 or f64 inputs, got ", dtype_name(dt));
  return dt == DType::f64 ? ssm_kernel_typed<double>(p, q, cr, ci, length, dt)
                          : ssm_kernel_typed<float>(p, q, cr, ci, length, dt);
}

Var long_causal_conv(const Var& u, const Var& K, LongConvMethod method) {
  ROTOR_CHECK(u.dim() == 3 && K.dim() == 2 && K.size(0) == u.size(2) && K.size(1) == u.size(1),
              "long_causal_conv: input ", shape_str(u.shape()), " and kernel ", shape_str(K.shape()),
              " should be [B, T, H] and [H, T]");
  const DType dt = u.dtype();
  ROTOR_CHECK(dt == DType::f32 || dt == DType::f64, "long_causal_conv: wants f32 or f64 inputs, got ",
              dtype_name(dt));
  const bool fft = method == LongConvMethod::fft || (method == LongConvMethod::automatic && u.size(1) >= kLongConvFftFrom);
  return dt == DType::f64 ? long_causal_conv_typed<double>(u, K, dt, fft) : long_causal_conv_typed<float>(u, K, dt, fft);
}

// u: [B, T, H] -> [B, T, H]: y_t = sum_{s<=t} K_{t-s} u_s + D u_t.
Var s4d_convolution_forward(const Var& u, const S4DParams& s) {
  ROTOR_CHECK(u.dim() == 3 && u.size(2) == s.log_dt.size(0), "s4d: input ", shape_str(u.shape()),
              " should be [B, T, ", s.log_dt.size(0), "]");
  return long_causal_conv(u, s4d_kernel(s, u.size(1))) + u * s.D;
}

// u: [B, H] -> [B, H].
Var s4d_step(const Var& u, const S4DParams& s, S4DState& state) {
  ROTOR_CHECK(u.dim() == 2 && u.size(1) == s.log_dt.size(0), "s4d: step input ", shape_str(u.shape()),
              " should be [B, ", s.log_dt.size(0), "]");
  const Discrete d = discretise(s);
  // x = Abar x + Bbar u, carried pre-multiplied by C: x~ = C x, so x~ = Abar x~ + (C Bbar) u.
  const Var uu = ag::unsqueeze(u, 2);  // [B, H, 1]
  Var re = d.cr * uu, im = d.ci * uu;  // [B, H, N]
  if (state.re.defined()) {
    re = re + d.ar * state.re - d.ai * state.im;
    im = im + d.ar * state.im + d.ai * state.re;
  }
  state.re = re;
  state.im = im;
  return 2.0 * ag::sum(re, {2}) + u * s.D;
}

Var s4d_recurrent_forward(const Var& u, const S4DParams& s) {
  ROTOR_CHECK(u.dim() == 3, "s4d: input must be [B, T, H], got ", shape_str(u.shape()));
  S4DState state;
  std::vector<Var> ys;
  for (int64_t t = 0; t < u.size(1); ++t) ys.push_back(s4d_step(ag::select(u, 1, t), s, state));
  return ag::stack(ys, 1);
}

S4D::S4D(int64_t channels, int64_t state_size, Rng& rng, DType dtype) {
  ROTOR_CHECK(channels > 0 && state_size > 0, "S4D: channels and state size must be positive, got ", channels,
              " and ", state_size);
  const int64_t H = channels, N = state_size;
  params_.log_dt = add_parameter("log_dt", uniform_tensor({H}, std::log(1e-3), std::log(1e-1), rng, dtype));
  params_.log_A_real = add_parameter("log_A_real", Tensor::full({H, N}, std::log(0.5), dtype));
  std::vector<double> imag(static_cast<size_t>(H * N));
  for (int64_t h = 0; h < H; ++h)
    for (int64_t n = 0; n < N; ++n) imag[h * N + n] = std::numbers::pi * static_cast<double>(n);
  params_.A_imag = add_parameter("A_imag", Tensor::from_vector(imag, {H, N}).to(dtype));
  params_.C = add_parameter("C", normal_tensor({H, N, 2}, 0.0, std::sqrt(0.5), rng, dtype));
  params_.D = add_parameter("D", normal_tensor({H}, 0.0, 1.0, rng, dtype));
}

}  // namespace rotor::nn
