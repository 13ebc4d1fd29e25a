#pragma once
// S4D: a diagonal state-space layer (Gu, Gupta, Goel, Re 2022, "On the Parameterization and Initialization
// of Diagonal State Space Models"). Each of H channels is an independent linear SSM with N complex state
// dimensions (the conjugate halves implied, hence the factor 2 below):
//   x'(t) = A x(t) + B u(t),  y(t) = 2 Re(C x(t)) + D u(t),  A = diag(A_n), B = 1
// S4D-Lin initialisation A_n = -1/2 + i pi n, n = 0..N-1; dt = exp(log_dt) with log_dt ~ U(log 1e-3, log 1e-1);
// C ~ N(0, 1/2) per real part; D ~ N(0, 1). Zero-order hold: Abar = exp(dt A), Bbar = (exp(dt A) - 1) / A.
// Two ways to compute the same output:
//   convolution (training): y = K * u + D u with the kernel K_l = 2 Re(sum_n C_n Bbar_n Abar_n^l), l < T,
//     computed by one op from the discretised system (ssm_kernel, rotor/kernels/ssm_kernel.h: the
//     Vandermonde product with a hand-written backward) and applied by one op (long_causal_conv,
//     rotor/kernels/long_conv.h): by the paper's FFT convolution from T = kLongConvFftFrom on (O(T log T H)
//     time, O(T H) memory), directly below it (O(T^2 H), faster for short sequences);
//   recurrence (decoding): x_t = Abar x_{t-1} + Bbar u_t, y_t = 2 Re(C x_t) + D u_t, O(H N) state.
// Parameters (the names of the S4D reference code): log_dt [H], log_A_real [H, N] (A_re = -exp(log_A_real)),
// A_imag [H, N], C [H, N, 2] (real, imaginary), D [H]. Complex arithmetic is spelled out in real autograd ops.
#include "rotor/core/rng.h"
#include "rotor/nn/module.h"

namespace rotor::nn {

struct S4DParams {
  Var log_dt, log_A_real, A_imag, C, D;
};

// The convolution kernel K: [H, T].
Var s4d_kernel(const S4DParams& p, int64_t length);
// p, q, cr, ci: [H, N] -> K: [H, length], K[h, l] = 2 Re(sum_n (cr + i ci) exp(l (p + i q))) (f32 or f64,
// differentiable in all four): S4D's kernel from dt A = p + i q and C Bbar = cr + i ci.
Var ssm_kernel(const Var& p, const Var& q, const Var& cr, const Var& ci, int64_t length);

// How long_causal_conv computes: `automatic` takes the FFT from kLongConvFftFrom steps on (the crossing
// measured with bench/mixers_bench.sh, s4d, 1 thread: direct 2.14 ms / FFT 2.28 at T 384, 2.85 / 2.53 at
// 512), the direct sum below.
enum class LongConvMethod { automatic, direct, fft };
constexpr int64_t kLongConvFftFrom = 512;
// u: [B, T, H], K: [H, T] -> y: [B, T, H], y[b, t, h] = sum_{s <= t} K[h, t - s] u[b, s, h] (f32 or f64,
// differentiable in u and K).
Var long_causal_conv(const Var& u, const Var& K, LongConvMethod method = LongConvMethod::automatic);
// u: [B, T, H] -> y: [B, T, H], by the convolution.
Var s4d_convolution_forward(const Var& u, const S4DParams& p);
// The decode state: x real and imaginary parts, [B, H, N] each (undefined before the first token).
struct S4DState {
  Var re, im;
};
// u: [B, H] -> y: [B, H], one step of the recurrence.
Var s4d_step(const Var& u, const S4DParams& p, S4DState& state);
// u: [B, T, H] -> y: [B, T, H], by the recurrence (s4d_step at every position).
Var s4d_recurrent_forward(const Var& u, const S4DParams& p);

class S4D : public Module {
 public:
  S4D(int64_t channels, int64_t state_size, Rng& rng, DType dtype = DType::f32);
  // u: [B, T, H] -> [B, T, H].
  Var forward(const Var& u) const { return s4d_convolution_forward(u, params_); }
  // u: [B, H] -> [B, H].
  Var step(const Var& u, S4DState& state) const { return s4d_step(u, params_, state); }
  const S4DParams& params() const { return params_; }

 private:
  S4DParams params_;
};

}  // namespace rotor::nn
