#include "rotor/nn/mamba.h"

#include <cmath>
#include <limits>
#include <vector>

#include "rotor/autograd/linalg.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/views.h"
#include "rotor/kernels/selective_scan.h"
#include "rotor/nn/init.h"

namespace rotor::nn {

namespace ag = rotor::autograd;

// x: [B, T, E], weight: [E, 1, K], bias: [E] -> [B, T, E].
Var causal_depthwise_conv(const Var& x, const Var& weight, const Var& bias) {
  ROTOR_CHECK(x.dim() == 3 && weight.dim() == 3 && weight.size(0) == x.size(2) && weight.size(1) == 1,
              "mamba conv: input ", shape_str(x.shape()), " and weight ", shape_str(weight.shape()),
              " should be [B, T, E] and [E, 1, K]");
  const int64_t B = x.size(0), T = x.size(1), E = x.size(2), K = weight.size(2);
  const Var padded = K > 1 ? ag::cat({Var(Tensor::zeros({B, K - 1, E}, x.dtype())), x}, 1) : x;  // [B, T+K-1, E]
  Var y = bias.defined() ? bias + Var(Tensor::zeros({B, T, E}, x.dtype())) : Var(Tensor::zeros({B, T, E}, x.dtype()));
  for (int64_t k = 0; k < K; ++k) y = y + ag::narrow(padded, 1, k, T) * ag::select(ag::select(weight, 1, 0), 1, k);
  return y;
}

CausalDepthwiseConv1d::CausalDepthwiseConv1d(int64_t channels, int64_t kernel, Rng& rng, DType dtype) {
  ROTOR_CHECK(channels > 0 && kernel > 0, "mamba conv: channels and kernel must be positive, got ", channels, " and ",
              kernel);
  const double k = 1.0 / std::sqrt(static_cast<double>(kernel));
  weight_ = add_parameter("weight", uniform_tensor({channels, 1, kernel}, -k, k, rng, dtype));
  bias_ = add_parameter("bias", uniform_tensor({channels}, -k, k, rng, dtype));
}

namespace {

void check_scan(const Var& x, const Var& delta, const Var& A, const Var& Bm, const Var& Cm, const Var& D) {
  ROTOR_CHECK(x.dim() == 3 && delta.shape() == x.shape() && A.dim() == 2 && A.size(0) == x.size(2) &&
                  Bm.dim() == 3 && Bm.size(0) == x.size(0) && Bm.size(1) == x.size(1) && Bm.size(2) == A.size(1) &&
                  Cm.shape() == Bm.shape() && D.dim() == 1 && D.size(0) == x.size(2),
              "selective scan: x ", shape_str(x.shape()), ", delta ", shape_str(delta.shape()), ", A ",
              shape_str(A.shape()), ", B ", shape_str(Bm.shape()), ", C ", shape_str(Cm.shape()), ", D ",
              shape_str(D.shape()), " do not form [B, T, E] x2, [E, N], [B, T, N] x2, [E]");
}

// One step. x, delta: [B, E], Bm, Cm: [B, N], h: [B, E, N] (undefined = zeros) -> y: [B, E].
Var scan_step(const Var& x, const Var& delta, const Var& A, const Var& Bm, const Var& Cm, const Var& D, Var& h) {
  const Var d = ag::unsqueeze(delta, 2);                                           // [B, E, 1]
  const Var dbx = d * ag::unsqueeze(Bm, 1) * ag::unsqueeze(x, 2);                   // [B, E, N]
  h = h.defined() ? ag::exp(d * A) * h + dbx : dbx;
  return ag::sum(h * ag::unsqueeze(Cm, 1), {2}) + x * D;
}

}  // namespace

Var selective_scan_sequential(const Var& x, const Var& delta, const Var& A, const Var& Bm, const Var& Cm, const Var& D) {
  check_scan(x, delta, A, Bm, Cm, D);
  Var h;
  std::vector<Var> ys;
  for (int64_t t = 0; t < x.size(1); ++t)
    ys.push_back(scan_step(ag::select(x, 1, t), ag::select(delta, 1, t), A, ag::select(Bm, 1, t),
                           ag::select(Cm, 1, t), D, h));
  return ag::stack(ys, 1);  // [B, T, E]
}

Var selective_scan_chunked(const Var& x, const Var& delta, const Var& A, const Var& Bm, const Var& Cm, const Var& D,
                           int64_t chunk) {
  check_scan(x, delta, A, Bm, Cm, D);
  ROTOR_CHECK(chunk > 0, "selective scan: chunk size must be positive, got ", chunk);
  const int64_t T = x.size(1);
  Var h;  // [B, E, N], state before the chunk
  std::vector<Var> ys;
  for (int64_t t0 = 0; t0 < T; t0 += chunk) {
    const int64_t L = std::min(chunk, T - t0);
    const Var xc = ag::narrow(x, 1, t0, L), dc = ag::unsqueeze(ag::narrow(delta, 1, t0, L), 3);  // [B, L, E], [B, L, E, 1]
    const Var bc = ag::unsqueeze(ag::narrow(Bm, 1, t0, L), 2), cc = ag::unsqueeze(ag::narrow(Cm, 1, t0, L), 2);  // [B, L, 1, N]
    const Var logdecay = dc * A;                                                     // [B, L, E, N]
    const Var dbx = dc * bc * ag::unsqueeze(xc, 3);                                  // [B, L, E, N]
    std::vector<float> lower(static_cast<size_t>(L * L)), future(static_cast<size_t>(L * L));
    for (int64_t t = 0; t < L; ++t)
      for (int64_t s = 0; s < L; ++s) {
        lower[t * L + s] = s <= t ? 1.0f : 0.0f;
        future[t * L + s] = s > t ? 1.0f : 0.0f;
      }
    const Var tril(Tensor::from_vector(lower, {L, L}).to(x.dtype()));
    const Shape shape = logdecay.shape();
    const int64_t B = shape[0], E = shape[2], N = shape[3];
    // c_t = sum_{s<=t} delta_s A, as one product with the lower-triangular ones: [B, L, E, N].
    const Var cum = ag::reshape(ag::matmul(tril, ag::reshape(logdecay, {B, L, E * N})), {B, L, E, N});
    // w[b, t, s] = exp(c_t - c_s) for s <= t, 0 after: [B, L, L, E, N].
    const Var diff = ag::unsqueeze(cum, 2) - ag::unsqueeze(cum, 1);
    const Var w = ag::exp(ag::masked_fill(diff, Tensor::from_vector(future, {L, L, 1, 1}),
                                          -std::numeric_limits<double>::infinity()));
    Var hs = ag::sum(w * ag::unsqueeze(dbx, 1), {2});                                // [B, L, E, N]
    if (h.defined()) hs = hs + ag::exp(cum) * ag::unsqueeze(h, 1);
    ys.push_back(ag::sum(hs * cc, {3}) + xc * D);                                    // [B, L, E]
    h = ag::select(hs, 1, L - 1);
  }
  return ag::cat(ys, 1);
}

namespace {
template <class F>
Var selective_scan_typed(const std::vector<Var>& in, DType dt) {
  std::vector<Tensor> v;
  for (const Var& t : in) v.push_back(t.value().to(dt).contiguous());
  const int64_t B = in[0].size(0), T = in[0].size(1), E = in[0].size(2), N = in[2].size(1);
  Tensor y = Tensor::empty({B, T, E}, dt);
  kernels::selective_scan_forward<F>(y.data<F>(), v[0].data<F>(), v[1].data<F>(), v[2].data<F>(), v[3].data<F>(),
                                     v[4].data<F>(), v[5].data<F>(), B, T, E, N);
  return autograd::record("selective_scan", y, in, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dt).contiguous();
    std::vector<Tensor> d;
    for (const Tensor& t : v) d.push_back(Tensor::empty(t.shape(), dt));
    kernels::selective_scan_backward<F>(d[0].data<F>(), d[1].data<F>(), d[2].data<F>(), d[3].data<F>(),
                                        d[4].data<F>(), d[5].data<F>(), g.data<F>(), v[0].data<F>(), v[1].data<F>(),
                                        v[2].data<F>(), v[3].data<F>(), v[4].data<F>(), v[5].data<F>(), B, T, E, N);
    return d;
  });
}
}  // namespace

Var selective_scan(const Var& x, const Var& delta, const Var& A, const Var& Bm, const Var& Cm, const Var& D) {
  check_scan(x, delta, A, Bm, Cm, D);
  const DType dt = x.dtype();
  ROTOR_CHECK(dt == DType::f32 || dt == DType::f64, "selective scan: wants f32 or f64 inputs, got ", dtype_name(dt));
  const std::vector<Var> in{x, delta, A, Bm, Cm, D};
  return dt == DType::f64 ? selective_scan_typed<double>(in, dt) : selective_scan_typed<float>(in, dt);
}

MambaBlock::MambaBlock(int64_t d_model, const MambaOptions& o, Rng& rng, DType dtype)
    : inner_(o.expand * d_model),
      rank_(o.dt_rank > 0 ? o.dt_rank : (d_model + 15) / 16),
      state_(o.d_state),
      conv_(o.d_conv),
      chunk_(o.chunk) {
  ROTOR_CHECK(d_model > 0 && o.expand > 0 && o.d_state > 0 && o.d_conv > 0 && o.chunk > 0 && o.dt_rank >= 0,
              "MambaBlock: sizes must be positive (d_model ", d_model, ", expand ", o.expand, ", d_state ", o.d_state,
              ", d_conv ", o.d_conv, ", chunk ", o.chunk, ", dt_rank ", o.dt_rank, ")");
  const int64_t E = inner_, N = state_;
  in_proj_ = add_module("in_proj", std::make_shared<Linear>(d_model, 2 * E, false, rng, dtype));
  conv1d_ = add_module("conv1d", std::make_shared<CausalDepthwiseConv1d>(E, conv_, rng, dtype));
  x_proj_ = add_module("x_proj", std::make_shared<Linear>(E, rank_ + 2 * N, false, rng, dtype));
  dt_proj_ = add_module("dt_proj", std::make_shared<Linear>(rank_, E, true, rng, dtype));
  const double kr = 1.0 / std::sqrt(static_cast<double>(rank_));
  Var dt_weight = dt_proj_->weight(), dt_bias_var = dt_proj_->bias();  // handles sharing the parameters
  dt_weight.mutable_value().copy_(uniform_tensor({E, rank_}, -kr, kr, rng, dtype));
  std::vector<double> dt_bias(static_cast<size_t>(E)), a_log(static_cast<size_t>(E * N));
  for (auto& b : dt_bias) {
    const double dt = std::exp(std::log(1e-3) + (std::log(1e-1) - std::log(1e-3)) * rng.uniform());
    b = dt + std::log(-std::expm1(-dt));  // softplus^-1(dt)
  }
  for (int64_t e = 0; e < E; ++e)
    for (int64_t n = 0; n < N; ++n) a_log[e * N + n] = std::log(static_cast<double>(n + 1));
  dt_bias_var.mutable_value().copy_(Tensor::from_vector(dt_bias, {E}));
  A_log_ = add_parameter("A_log", Tensor::from_vector(a_log, {E, N}).to(dtype));
  D_ = add_parameter("D", Tensor::ones({E}, dtype));
  out_proj_ = add_module("out_proj", std::make_shared<Linear>(E, d_model, false, rng, dtype));
}

// x: [B, T, d_model] -> [B, T, d_model].
Var MambaBlock::forward(const Var& x, ScanForm form) const {
  ROTOR_CHECK(x.dim() == 3 && x.size(2) == in_proj_->in_features(), "MambaBlock: input ", shape_str(x.shape()),
              " should be [B, T, ", in_proj_->in_features(), "]");
  const Var xz = in_proj_->forward(x);                                                     // [B, T, 2E]
  const Var xc = ag::silu(conv1d_->forward(ag::narrow(xz, 2, 0, inner_)));
  const Var z = ag::narrow(xz, 2, inner_, inner_);                                         // [B, T, E]
  const Var dbc = x_proj_->forward(xc);                                                    // [B, T, R + 2N]
  const Var delta = ag::softplus(dt_proj_->forward(ag::narrow(dbc, 2, 0, rank_)));          // [B, T, E]
  const Var Bm = ag::narrow(dbc, 2, rank_, state_), Cm = ag::narrow(dbc, 2, rank_ + state_, state_);  // [B, T, N]
  const Var A = -ag::exp(A_log_);
  const Var y = form == ScanForm::fused     ? selective_scan(xc, delta, A, Bm, Cm, D_)
                : form == ScanForm::chunked ? selective_scan_chunked(xc, delta, A, Bm, Cm, D_, chunk_)
                                            : selective_scan_sequential(xc, delta, A, Bm, Cm, D_);
  return out_proj_->forward(y * ag::silu(z));
}

// x: [B, d_model] -> [B, d_model].
Var MambaBlock::step(const Var& x, MambaState& state) const {
  ROTOR_CHECK(x.dim() == 2 && x.size(1) == in_proj_->in_features(), "MambaBlock: step input ", shape_str(x.shape()),
              " should be [B, ", in_proj_->in_features(), "]");
  const int64_t B = x.size(0);
  const Var xz = in_proj_->forward(x);                                       // [B, 2E]
  const Var xi = ag::unsqueeze(ag::narrow(xz, 1, 0, inner_), 1);             // [B, 1, E]
  if (!state.conv.defined()) state.conv = Var(Tensor::zeros({B, conv_ - 1, inner_}, x.dtype()));
  const Var window = ag::cat({state.conv, xi}, 1);                            // [B, K, E]
  state.conv = ag::narrow(window, 1, 1, conv_ - 1);
  const Var xc = ag::silu(ag::select(conv1d_->forward(window), 1, conv_ - 1));  // [B, E]
  const Var dbc = x_proj_->forward(xc);
  const Var delta = ag::softplus(dt_proj_->forward(ag::narrow(dbc, 1, 0, rank_)));
  const Var y = scan_step(xc, delta, -ag::exp(A_log_), ag::narrow(dbc, 1, rank_, state_),
                          ag::narrow(dbc, 1, rank_ + state_, state_), D_, state.h);
  return out_proj_->forward(y * ag::silu(ag::narrow(xz, 1, inner_, inner_)));
}

}  // namespace rotor::nn
