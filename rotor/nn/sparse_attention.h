#pragma once
// Causal softmax attention restricted to a pattern: each query t attends to a set of earlier keys S(t)
// (t itself included). pattern_attention is one op (kernel rotor/kernels/sparse_attention.h: the key lists
// in compressed rows, the scores and probabilities never stored, only a logsumexp per query), so time is
// O(T |S| D) and memory O(T D), proportional to the pattern rather than to T^2. Patterns:
//   local(W):       S(t) = {t-W+1 .. t}                                      (sliding window, |S| = W)
//   strided(l):     S(t) = {t-l+1 .. t} U {j <= t : (t - j) mod l == 0}      (Child et al. 2019, sec. 4.2,
//                                                                            both heads' sets in one)
//   fixed(l, c):    S(t) = {j <= t : floor(j/l) == floor(t/l)} U {j <= t : j mod l >= l - c}
//                                                                           (the block, and c summary
//                                                                            columns of every block)
// out_t = sum_{j in S(t)} softmax_j(q_t . k_j / sqrt(D)) v_j.
#include <memory>
#include <vector>

#include "rotor/nn/head_projections.h"

namespace rotor::nn {

struct AttentionPattern {
  enum class Kind { local, strided, fixed };
  Kind kind = Kind::local;
  int64_t size = 64;    // W for local, l for strided and fixed
  int64_t summary = 1;  // c for fixed
};

// The keys query t attends to, ascending.
std::vector<int64_t> pattern_keys(const AttentionPattern& p, int64_t t);

// q, k: [B, H, T, D], v: [B, H, T, Dv] -> [B, H, T, Dv].
Var pattern_attention(const Var& q, const Var& k, const Var& v, const AttentionPattern& p);

// Decode cache: every position's k and v ([B, H, D], [B, H, Dv]); a local pattern keeps only its window.
struct PatternAttentionState {
  std::vector<Var> k, v;
  int64_t first = 0;     // position of k[0]
  int64_t position = 0;  // tokens seen
};
// q, k: [B, H, D], v: [B, H, Dv] -> [B, H, Dv], advancing `state`.
Var pattern_attention_step(const Var& q, const Var& k, const Var& v, const AttentionPattern& p,
                           PatternAttentionState& state);

class SparseAttention : public HeadProjections {
 public:
  // Projections q.*, k.*, v.*, out.* ([dim, dim] with bias).
  SparseAttention(int64_t dim, int64_t heads, const AttentionPattern& pattern, Rng& rng, DType dtype = DType::f32);
  Var forward(const Var& x) const;                               // [B, T, dim] -> [B, T, dim]
  Var step(const Var& x, PatternAttentionState& state) const;    // [B, dim] -> [B, dim]

 private:
  AttentionPattern pattern_;
};

}  // namespace rotor::nn
