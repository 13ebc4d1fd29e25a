#include "rotor/nn/sparse_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rotor/autograd/indexing.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/softmax.h"
#include "rotor/autograd/views.h"

namespace rotor::nn {

namespace ag = rotor::autograd;

namespace {

void check_pattern(const AttentionPattern& p) {
  ROTOR_CHECK(p.size > 0, "sparse attention: the pattern size (window or stride) must be positive, got ", p.size);
  ROTOR_CHECK(p.kind != AttentionPattern::Kind::fixed || (p.summary > 0 && p.summary <= p.size),
              "sparse attention: the fixed pattern's summary columns must be in [1, ", p.size, "], got ", p.summary);
}

// q: [B, H, Tq, D], keys/values gathered per query: [B, H, Tq, P, D], [B, H, Tq, P, Dv]; pad: [Tq, P]
// (1 = no key here) -> [B, H, Tq, Dv].
Var attend(const Var& q, const Var& kg, const Var& vg, const Tensor& pad) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  const Var scores = ag::sum(ag::unsqueeze(q, 3) * kg, {4}) * scale;  // [B, H, Tq, P]
  const Var probs = ag::softmax(ag::masked_fill(scores, pad, -std::numeric_limits<double>::infinity()), 3);
  return ag::sum(ag::unsqueeze(probs, 4) * vg, {3});
}

// x: [B, H, T, F] gathered at idx ([Tq * P] positions) -> [B, H, Tq, P, F].
Var gather_positions(const Var& x, const std::vector<int64_t>& idx, int64_t Tq, int64_t P) {
  const Var g = ag::index_select(x, 2, Tensor::from_vector(idx, {static_cast<int64_t>(idx.size())}));
  return ag::reshape(g, {x.size(0), x.size(1), Tq, P, x.size(3)});
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
      for (int64_t j = 0; j < (t / l) * l; ++j)
        if (j % l >= l - p.summary) keys.push_back(j);  // summary columns of earlier blocks
      for (int64_t j = (t / l) * l; j <= t; ++j) keys.push_back(j);
      break;
  }
  return keys;
}

// q, k: [B, H, T, D], v: [B, H, T, Dv] -> [B, H, T, Dv].
Var pattern_attention(const Var& q, const Var& k, const Var& v, const AttentionPattern& p) {
  ROTOR_CHECK(q.dim() == 4 && k.shape() == q.shape() && v.dim() == 4 && v.size(2) == q.size(2),
              "sparse attention: q ", shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()),
              " should be [B, H, T, D], [B, H, T, D], [B, H, T, Dv]");
  const int64_t T = q.size(2);
  std::vector<std::vector<int64_t>> keys(static_cast<size_t>(T));
  int64_t P = 0;
  for (int64_t t = 0; t < T; ++t) {
    keys[t] = pattern_keys(p, t);
    P = std::max<int64_t>(P, static_cast<int64_t>(keys[t].size()));
  }
  std::vector<int64_t> idx(static_cast<size_t>(T * P), 0);
  std::vector<float> pad(static_cast<size_t>(T * P), 1.0f);
  for (int64_t t = 0; t < T; ++t)
    for (size_t j = 0; j < keys[t].size(); ++j) {
      idx[t * P + j] = keys[t][j];
      pad[t * P + j] = 0.0f;
    }
  return attend(q, gather_positions(k, idx, T, P), gather_positions(v, idx, T, P), Tensor::from_vector(pad, {T, P}));
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
  const auto P = static_cast<int64_t>(ks.size());
  const Var kg = ag::unsqueeze(ag::stack(ks, 2), 2), vg = ag::unsqueeze(ag::stack(vs, 2), 2);  // [B, H, 1, P, .]
  return ag::squeeze(attend(ag::unsqueeze(q, 2), kg, vg, Tensor::zeros({1, P})), 2);
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
