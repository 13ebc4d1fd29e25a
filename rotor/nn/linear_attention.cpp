#include "rotor/nn/linear_attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "rotor/autograd/linalg.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/views.h"

namespace rotor::nn {

namespace ag = rotor::autograd;

Var elu_plus_one(const Var& x) {
  return ag::relu(x) + ag::exp(ag::clamp(x, -std::numeric_limits<double>::infinity(), 0.0));
}

// x: [B, H, T, D] -> [B, H, T, D].
Var rope_pairs(const Var& x, int64_t offset, double theta) {
  ROTOR_CHECK(x.dim() == 4 && x.size(3) % 2 == 0, "rope: input must be [B, H, T, D] with D even, got ",
              shape_str(x.shape()));
  const int64_t B = x.size(0), H = x.size(1), T = x.size(2), D = x.size(3), P = D / 2;
  std::vector<double> c(static_cast<size_t>(T * P)), s(c.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < P; ++i) {
      const double angle = static_cast<double>(offset + t) * std::pow(theta, -2.0 * static_cast<double>(i) / D);
      c[t * P + i] = std::cos(angle);
      s[t * P + i] = std::sin(angle);
    }
  const Var cosv(Tensor::from_vector(c, {T, P}).to(x.dtype())), sinv(Tensor::from_vector(s, {T, P}).to(x.dtype()));
  const Var pairs = ag::reshape(x, {B, H, T, P, 2});
  const Var x0 = ag::select(pairs, 4, 0), x1 = ag::select(pairs, 4, 1);  // [B, H, T, P]
  return ag::reshape(ag::stack({x0 * cosv - x1 * sinv, x0 * sinv + x1 * cosv}, 4), {B, H, T, D});
}

namespace {

Var rotated(const Var& features, int64_t offset, const LinearAttentionOptions& o) {
  return o.rope ? rope_pairs(features, offset, o.rope_theta) : features;
}

void check_qkv(const Var& q, const Var& k, const Var& v, int64_t rank) {
  ROTOR_CHECK(q.dim() == rank && q.shape() == k.shape() && v.dim() == rank, "linear attention: q ",
              shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()),
              " should be ", rank == 4 ? "[B, H, T, D], [B, H, T, D], [B, H, T, Dv]" : "[B, H, D], [B, H, D], [B, H, Dv]");
  for (int64_t d = 0; d + 1 < rank; ++d)
    ROTOR_CHECK(v.size(d) == q.size(d), "linear attention: v ", shape_str(v.shape()), " does not match q ",
                shape_str(q.shape()));
}

}  // namespace

// fq, fk: [B, H, F], v: [B, H, Dv] -> [B, H, Dv].
Var feature_attention_step(const Var& fq_t, const Var& fk_t, const Var& v, LinearAttentionState& state,
                           const LinearAttentionOptions& o) {
  check_qkv(fq_t, fk_t, v, 3);
  const Var fq = ag::unsqueeze(fq_t, 2), fk = ag::unsqueeze(fk_t, 2);  // [B, H, 1, F]
  const Var rk = rotated(fk, state.position, o), rq = rotated(fq, state.position, o);
  const Var kv = ag::matmul(ag::transpose(rk, 2, 3), ag::unsqueeze(v, 2));  // [B, H, F, Dv]
  const Var kz = ag::transpose(fk, 2, 3);                                    // [B, H, F, 1]
  state.s = state.s.defined() ? state.s + kv : kv;
  state.z = state.z.defined() ? state.z + kz : kz;
  ++state.position;
  const Var num = ag::matmul(rq, state.s), den = ag::matmul(fq, state.z);  // [B, H, 1, Dv], [B, H, 1, 1]
  return ag::squeeze(num / den, 2);
}

// q, k: [B, H, D], v: [B, H, Dv] -> [B, H, Dv].
Var linear_attention_step(const Var& q, const Var& k, const Var& v, LinearAttentionState& state,
                          const LinearAttentionOptions& o) {
  return feature_attention_step(elu_plus_one(q), elu_plus_one(k), v, state, o);
}

Var causal_linear_attention_recurrent(const Var& q, const Var& k, const Var& v, const LinearAttentionOptions& o) {
  check_qkv(q, k, v, 4);
  LinearAttentionState state;
  std::vector<Var> outputs;
  for (int64_t t = 0; t < q.size(2); ++t)
    outputs.push_back(linear_attention_step(ag::select(q, 2, t), ag::select(k, 2, t), ag::select(v, 2, t), state, o));
  return ag::stack(outputs, 2);  // [B, H, T, Dv]
}

Var causal_linear_attention_chunked(const Var& q, const Var& k, const Var& v, int64_t chunk,
                                    const LinearAttentionOptions& o) {
  check_qkv(q, k, v, 4);
  return causal_feature_attention_chunked(elu_plus_one(q), elu_plus_one(k), v, chunk, o);
}

// fq, fk: [B, H, T, F], v: [B, H, T, Dv] -> [B, H, T, Dv].
Var causal_feature_attention_chunked(const Var& q, const Var& k, const Var& v, int64_t chunk,
                                     const LinearAttentionOptions& o) {
  check_qkv(q, k, v, 4);
  ROTOR_CHECK(chunk > 0, "linear attention: chunk size must be positive, got ", chunk);
  const int64_t T = q.size(2);
  Var s, z;  // prefix state before the chunk: [B, H, D, Dv], [B, H, D, 1]
  std::vector<Var> outputs;
  for (int64_t t0 = 0; t0 < T; t0 += chunk) {
    const int64_t L = std::min(chunk, T - t0);
    const Var fq = ag::narrow(q, 2, t0, L), fk = ag::narrow(k, 2, t0, L);  // [B, H, L, F]
    const Var vc = ag::narrow(v, 2, t0, L);                                                            // [B, H, L, Dv]
    const Var rq = rotated(fq, t0, o), rk = rotated(fk, t0, o);
    std::vector<float> future(static_cast<size_t>(L * L), 0.0f);  // 1 where key n is after query m
    for (int64_t m = 0; m < L; ++m)
      for (int64_t n = m + 1; n < L; ++n) future[m * L + n] = 1.0f;
    const Tensor mask = Tensor::from_vector(future, {L, L});
    const Var a_num = ag::masked_fill(ag::matmul(rq, ag::transpose(rk, 2, 3)), mask, 0.0);  // [B, H, L, L]
    const Var a_den = ag::masked_fill(ag::matmul(fq, ag::transpose(fk, 2, 3)), mask, 0.0);
    Var num = ag::matmul(a_num, vc);              // [B, H, L, Dv]
    Var den = ag::sum(a_den, {3}, true);          // [B, H, L, 1]
    if (s.defined()) {
      num = num + ag::matmul(rq, s);
      den = den + ag::matmul(fq, z);
    }
    outputs.push_back(num / den);
    const Var kv = ag::matmul(ag::transpose(rk, 2, 3), vc);         // [B, H, D, Dv]
    const Var kz = ag::transpose(ag::sum(fk, {2}, true), 2, 3);     // [B, H, D, 1]
    s = s.defined() ? s + kv : kv;
    z = z.defined() ? z + kz : kz;
  }
  return ag::cat(outputs, 2);
}

LinearAttention::LinearAttention(int64_t dim, int64_t heads, const LinearAttentionOptions& options, Rng& rng,
                                 int64_t chunk, DType dtype)
    : HeadProjections(dim, heads, rng, dtype, "LinearAttention"), chunk_(chunk), options_(options) {
  ROTOR_CHECK(!options.rope || (dim / heads) % 2 == 0, "LinearAttention: RoPE needs an even head width, got ",
              dim / heads);
  ROTOR_CHECK(chunk > 0, "LinearAttention: chunk size must be positive, got ", chunk);
}

// x: [B, T, dim] -> [B, T, dim].
Var LinearAttention::forward(const Var& x, Form form) const {
  const Heads h = project(x);  // [B, H, T, Dh]
  return output(form == Form::recurrent ? causal_linear_attention_recurrent(h.q, h.k, h.v, options_)
                                        : causal_linear_attention_chunked(h.q, h.k, h.v, chunk_, options_));
}

// x: [B, dim] -> [B, dim].
Var LinearAttention::step(const Var& x, LinearAttentionState& state) const {
  const Heads h = project_step(x);  // [B, H, Dh]
  return output_step(linear_attention_step(h.q, h.k, h.v, state, options_));
}

}  // namespace rotor::nn
