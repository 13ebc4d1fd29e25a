#include "rotor/nn/flash.h"

#include <cmath>

#include "rotor/autograd/indexing.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/views.h"
#include "rotor/nn/init.h"

namespace rotor::nn {

namespace ag = rotor::autograd;

FlashAttention::FlashAttention(int64_t dim, const FlashOptions& o, Rng& rng, DType dtype)
    : chunk_(o.chunk), norm_length_(o.norm_length) {
  ROTOR_CHECK(dim > 0 && o.expansion > 0 && o.qk_dim > 0 && o.chunk > 0 && o.norm_length > 0,
              "FlashAttention: sizes must be positive (dim ", dim, ", expansion ", o.expansion, ", qk_dim ", o.qk_dim,
              ", chunk ", o.chunk, ", norm_length ", o.norm_length, ")");
  const int64_t e = o.expansion * dim, s = o.qk_dim;
  hidden_ = add_module("hidden", std::make_shared<Linear>(dim, 2 * e, true, rng, dtype));
  qk_ = add_module("qk", std::make_shared<Linear>(dim, s, true, rng, dtype));
  gamma_ = add_parameter("gamma", normal_tensor({4, s}, 0.0, 0.02, rng, dtype));  // the paper's init
  beta_ = add_parameter("beta", Tensor::zeros({4, s}, dtype));
  rel_bias_ = add_parameter("rel_bias", Tensor::zeros({chunk_}, dtype));
  out_ = add_module("out", std::make_shared<Linear>(e, dim, true, rng, dtype));
}

FlashWeights FlashAttention::weights() const {
  return {hidden_->weight(), hidden_->bias(), qk_->weight(), qk_->bias(), gamma_, beta_, rel_bias_};
}

namespace {

struct Projected {
  Var u, v, q_quad, q_lin, k_quad, k_lin;  // [..., e] / [..., s]
};

// x: [..., d] -> u, v: [..., e], q/k: [..., s].
Projected project(const Var& x, const FlashWeights& w) {
  ROTOR_CHECK(w.hidden_w.dim() == 2 && x.size(x.dim() - 1) == w.hidden_w.size(1) && w.hidden_w.size(0) % 2 == 0 &&
                  w.gamma.dim() == 2 && w.gamma.size(0) == 4 && w.gamma.size(1) == w.qk_w.size(0) &&
                  w.beta.shape() == w.gamma.shape(),
              "flash: input ", shape_str(x.shape()), " and weights hidden ", shape_str(w.hidden_w.shape()), ", qk ",
              shape_str(w.qk_w.shape()), ", gamma ", shape_str(w.gamma.shape()), " do not fit");
  const int64_t e = w.hidden_w.size(0) / 2, last = x.dim() - 1;
  const Var h = ag::silu(ag::linear(x, w.hidden_w, w.hidden_b)), z = ag::silu(ag::linear(x, w.qk_w, w.qk_b));
  auto offset_scale = [&](int64_t r) { return z * ag::select(w.gamma, 0, r) + ag::select(w.beta, 0, r); };
  return {ag::narrow(h, last, 0, e), ag::narrow(h, last, e, e), offset_scale(0), offset_scale(1),
          offset_scale(2), offset_scale(3)};
}

}  // namespace

// x: [B, T, d] -> [B, T, e].
Var flash_mix(const Var& x, const FlashWeights& w, int64_t chunk, int64_t norm_length) {
  ROTOR_CHECK(x.dim() == 3, "flash: input must be [B, T, dim], got ", shape_str(x.shape()));
  ROTOR_CHECK(chunk > 0 && norm_length > 0 && w.rel_bias.dim() == 1 && w.rel_bias.size(0) == chunk,
              "flash: chunk ", chunk, " and norm length ", norm_length, " must be positive, rel_bias ",
              shape_str(w.rel_bias.shape()), " must be [chunk]");
  const int64_t T = x.size(1);
  const Projected p = project(x, w);
  const double scale = 1.0 / std::sqrt(static_cast<double>(w.qk_w.size(0)));
  Var kv;  // [B, s, e]
  std::vector<Var> outs;
  for (int64_t t0 = 0; t0 < T; t0 += chunk) {
    const int64_t L = std::min(chunk, T - t0);
    auto part = [&](const Var& y) { return ag::narrow(y, 1, t0, L); };
    const Var qq = part(p.q_quad), kq = part(p.k_quad), ql = part(p.q_lin), kl = part(p.k_lin), v = part(p.v);
    std::vector<int64_t> lag(static_cast<size_t>(L * L));
    std::vector<float> future(static_cast<size_t>(L * L));
    for (int64_t m = 0; m < L; ++m)
      for (int64_t j = 0; j < L; ++j) {
        lag[m * L + j] = m >= j ? m - j : 0;
        future[m * L + j] = j > m ? 1.0f : 0.0f;
      }
    const Var bias = ag::gather(ag::expand(ag::unsqueeze(w.rel_bias, 0), {L, chunk}), 1,
                                Tensor::from_vector(lag, {L, L}));                       // [L, L]
    const Var scores = ag::matmul(qq, ag::transpose(kq, 1, 2)) * scale + bias;           // [B, L, L]
    const Var a = ag::square(ag::relu(ag::masked_fill(scores, Tensor::from_vector(future, {L, L}), 0.0))) *
                  (1.0 / static_cast<double>(chunk));
    Var mixed = ag::matmul(a, v);                                                         // [B, L, e]
    if (kv.defined()) mixed = mixed + ag::matmul(ql, kv);
    outs.push_back(part(p.u) * mixed);
    const Var kv_chunk = ag::matmul(ag::transpose(kl, 1, 2), v) * (1.0 / static_cast<double>(norm_length));
    kv = kv.defined() ? kv + kv_chunk : kv_chunk;
  }
  return ag::cat(outs, 1);
}

// x: [B, T, dim] -> [B, T, dim].
Var FlashAttention::forward(const Var& x) const { return out_->forward(flash_mix(x, weights(), chunk_, norm_length_)); }

// x: [B, dim] -> [B, dim].
Var FlashAttention::step(const Var& x, FlashState& state) const {
  ROTOR_CHECK(x.dim() == 2 && x.size(1) == hidden_->in_features(), "FlashAttention: step input ",
              shape_str(x.shape()), " should be [B, ", hidden_->in_features(), "]");
  const Projected p = project(x, weights());  // [B, e] / [B, s]
  const int64_t s = p.q_quad.size(1);
  state.k_quad.push_back(p.k_quad);
  state.k_lin.push_back(p.k_lin);
  state.values.push_back(p.v);
  const int64_t L = static_cast<int64_t>(state.values.size());
  const Var K = ag::stack(state.k_quad, 1), V = ag::stack(state.values, 1);  // [B, L, s], [B, L, e]
  std::vector<int64_t> lag(static_cast<size_t>(L));
  for (int64_t j = 0; j < L; ++j) lag[j] = L - 1 - j;
  const Var scores = ag::squeeze(ag::matmul(K, ag::unsqueeze(p.q_quad, 2)), 2) / std::sqrt(static_cast<double>(s)) +
                     ag::index_select(rel_bias_, 0, Tensor::from_vector(lag, {L}));  // [B, L]
  const Var a = ag::square(ag::relu(scores)) * (1.0 / static_cast<double>(chunk_));
  Var mixed = ag::sum(ag::unsqueeze(a, 2) * V, {1});                                   // [B, e]
  if (state.kv.defined()) mixed = mixed + ag::squeeze(ag::matmul(ag::unsqueeze(p.q_lin, 1), state.kv), 1);
  if (L == chunk_) {  // the chunk is complete: fold it into the linear state
    const Var kv_chunk = ag::matmul(ag::transpose(ag::stack(state.k_lin, 1), 1, 2), V) *
                         (1.0 / static_cast<double>(norm_length_));
    state.kv = state.kv.defined() ? state.kv + kv_chunk : kv_chunk;
    state.k_quad.clear();
    state.k_lin.clear();
    state.values.clear();
  }
  ++state.position;
  return out_->forward(p.u * mixed);
}

}  // namespace rotor::nn
