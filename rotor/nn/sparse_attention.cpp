#include "rotor/nn/sparse_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "rotor/autograd/reduction.h"
#include "rotor/autograd/softmax.h"
#include "rotor/autograd/views.h"
#include "rotor/kernels/sparse_attention.h"

namespace rotor::nn {

namespace ag = rotor::autograd;

namespace {

void check_pattern(const AttentionPattern& p) {
  ROTOR_CHECK(p.size > 0, "sparse attention: the pattern size (window or stride) must be positive, got ", p.size);
  ROTOR_CHECK(p.kind != AttentionPattern::Kind::fixed || (p.summary > 0 && p.summary <= p.size),
              "sparse attention: the fixed pattern's summary columns must be in [1, ", p.size, "], got ", p.summary);
}

// q: [B, H, 1, D], keys/values gathered for the query: [B, H, 1, P, D], [B, H, 1, P, Dv] -> [B, H, 1, Dv]
// (one decoding step, on the tape).
Var attend(const Var& q, const Var& kg, const Var& vg) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  const Var scores = ag::sum(ag::unsqueeze(q, 3) * kg, {4}) * scale;  // [B, H, 1, P]
  return ag::sum(ag::unsqueeze(ag::softmax(scores, 3), 4) * vg, {3});
}

// The pattern's key lists for T queries in compressed rows (the keys of t: keys[offsets[t] .. offsets[t + 1])).
struct PatternRows {
  std::vector<int64_t> offsets;
  std::vector<int32_t> keys;
};

PatternRows pattern_rows(const AttentionPattern& p, int64_t T) {
  ROTOR_CHECK(T <= std::numeric_limits<int32_t>::max(), "sparse attention: context ", T, " is too long");
  PatternRows rows;
  rows.offsets.push_back(0);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t j : pattern_keys(p, t)) rows.keys.push_back(static_cast<int32_t>(j));
    rows.offsets.push_back(static_cast<int64_t>(rows.keys.size()));
  }
  return rows;
}

// The fused op: forward keeps the logsumexp per query, backward recomputes the probabilities.
template <class F>
Var pattern_attention_typed(const Var& q, const Var& k, const Var& v, const AttentionPattern& p) {
  const DType dt = q.dtype();
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), Dv = v.size(3);
  const auto rows = std::make_shared<const PatternRows>(pattern_rows(p, T));
  const Tensor qv = q.value().contiguous(), kv = k.value().contiguous(), vv = v.value().contiguous();
  Tensor out = Tensor::empty({B, H, T, Dv}, dt), lse = Tensor::empty({B, H, T}, dt);
  const F scale = static_cast<F>(1.0 / std::sqrt(static_cast<double>(D)));
  kernels::sparse_attention_forward<F>(out.data<F>(), lse.data<F>(), qv.data<F>(), kv.data<F>(), vv.data<F>(),
                                       rows->offsets.data(), rows->keys.data(), B * H, T, D, Dv, scale);
  return autograd::record("pattern_attention", out, {q, k, v}, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dt).contiguous();
    Tensor dq = Tensor::empty(qv.shape(), dt), dk = Tensor::empty(kv.shape(), dt), dv = Tensor::empty(vv.shape(), dt);
    kernels::sparse_attention_backward<F>(dq.data<F>(), dk.data<F>(), dv.data<F>(), g.data<F>(), qv.data<F>(),
                                          kv.data<F>(), vv.data<F>(), out.data<F>(), lse.data<F>(),
                                          rows->offsets.data(), rows->keys.data(), B * H, T, D, Dv, scale);
    return std::vector<Tensor>{dq, dk, dv};
  });
}

}  // namespace

std::vector<int64_t> pattern_keys(const AttentionPattern& p, int64_t t) {
  check_pattern(p);
  std::vector<int64_t> keys;
  const int64_t l = p.size;
  switch (p.kind) {
    case AttentionPattern::Kind::local:
      for (int64_t j = std::max<int64_t>(0, t - l + 1); j <= t; ++j) keys.push_back(j);
      break;
    case AttentionPattern::Kind::strided:
      for (int64_t j = t % l; j <= t; j += l)
        if (j <= t - l) keys.push_back(j);  // the strided column below the local window
      for (int64_t j = std::max<int64_t>(0, t - l + 1); j <= t; ++j) keys.push_back(j);
      break;
    case AttentionPattern::Kind::fixed:
      for (int64_t block = 0; block < t / l; ++block)  // the summary columns of earlier blocks
        for (int64_t j = (block + 1) * l - p.summary; j < (block + 1) * l; ++j) keys.push_back(j);
      for (int64_t j = (t / l) * l; j <= t; ++j) keys.push_back(j);
      break;
  }
  return keys;
}

// q, k: [B, H, T, D], v: [B, H, T, Dv] -> [B, H, T, Dv].
Var pattern_attention(const Var& q, const Var& k, const Var& v, const AttentionPattern& p) {
  ROTOR_CHECK(q.dim() == 4 && k.shape() == q.shape() && v.dim() == 4 && v.size(0) == q.size(0) &&
                  v.size(1) == q.size(1) && v.size(2) == q.size(2),
              "sparse attention: q ", shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()),
              " should be [B, H, T, D], [B, H, T, D], [B, H, T, Dv]");
  check_pattern(p);
  const DType dt = q.dtype();
  ROTOR_CHECK((dt == DType::f32 || dt == DType::f64) && k.dtype() == dt && v.dtype() == dt,
              "sparse attention: wants q, k, v all f32 or all f64, got ", dtype_name(dt), ", ", dtype_name(k.dtype()),
              ", ", dtype_name(v.dtype()));
  return dt == DType::f64 ? pattern_attention_typed<double>(q, k, v, p) : pattern_attention_typed<float>(q, k, v, p);
}

// q, k: [B, H, D], v: [B, H, Dv] -> [B, H, Dv].
Var pattern_attention_step(const Var& q, const Var& k, const Var& v, const AttentionPattern& p,
                           PatternAttentionState& state) {
  ROTOR_CHECK(q.dim() == 3 && k.shape() == q.shape() && v.dim() == 3, "sparse attention: step q ",
              shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()),
              " should be [B, H, D], [B, H, D], [B, H, Dv]");
  const int64_t t = state.position++;
  state.k.push_back(k);
  state.v.push_back(v);
  if (p.kind == AttentionPattern::Kind::local && static_cast<int64_t>(state.k.size()) > p.size) {
    state.k.erase(state.k.begin());
    state.v.erase(state.v.begin());
    ++state.first;
  }
  std::vector<Var> ks, vs;
  for (int64_t j : pattern_keys(p, t)) {
    ks.push_back(state.k[j - state.first]);
    vs.push_back(state.v[j - state.first]);
  }
  const Var kg = ag::unsqueeze(ag::stack(ks, 2), 2), vg = ag::unsqueeze(ag::stack(vs, 2), 2);  // [B, H, 1, P, .]
  return ag::squeeze(attend(ag::unsqueeze(q, 2), kg, vg), 2);
}

SparseAttention::SparseAttention(int64_t dim, int64_t heads, const AttentionPattern& pattern, Rng& rng, DType dtype)
    : HeadProjections(dim, heads, rng, dtype, "SparseAttention"), pattern_(pattern) {
  check_pattern(pattern);
}

// x: [B, T, dim] -> [B, T, dim].
Var SparseAttention::forward(const Var& x) const {
  const Heads h = project(x);  // [B, H, T, Dh]
  return output(pattern_attention(h.q, h.k, h.v, pattern_));
}

// x: [B, dim] -> [B, dim].
Var SparseAttention::step(const Var& x, PatternAttentionState& state) const {
  const Heads h = project_step(x);  // [B, H, Dh]
  return output_step(pattern_attention_step(h.q, h.k, h.v, pattern_, state));
}

}  // namespace rotor::nn
