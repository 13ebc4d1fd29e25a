#pragma once
// Causal linear attention (Katharopoulos et al. 2020, "Transformers are RNNs") with the feature map
// phi(x) = elu(x) + 1, optionally with RoPE as RoFormer (Su et al. 2021, eq. 19) applies it to linear
// attention: the rotation acts on the feature-mapped q and k in the numerator only, the denominator keeps
// the unrotated features (so it stays positive):
//   out_m = sum_{n<=m} (R_m phi(q_m))^T (R_n phi(k_n)) v_n  /  sum_{n<=m} phi(q_m)^T phi(k_n)
// R_p rotates each interleaved pair (x_2i, x_2i+1) by the angle p * theta^(-2i/D), as RoFormer does.
// Two ways to compute the same causal result:
//   recurrent: the prefix sums S_t = sum_{n<=t} (R_n phi(k_n)) v_n^T ([D, Dv] per head) and
//              z_t = sum_{n<=t} phi(k_n) ([D]), one token at a time (O(T D Dv) time, O(D Dv) state);
//              this is linear_attention_step applied at every position, i.e. the decode path;
//   chunked:   quadratic (masked) inside chunks of `chunk` tokens, the prefix state carried across chunks.
// Every op is an autograd op, so the backward (BPTT through the prefix sums) is the tape's.
#include <memory>

#include "rotor/nn/head_projections.h"

namespace rotor::nn {

struct LinearAttentionOptions {
  bool rope = false;
  double rope_theta = 10000.0;
};

// elu(x) + 1 = relu(x) + exp(min(x, 0)), elementwise.
Var elu_plus_one(const Var& x);

// x: [B, H, T, D] (D even) -> the same, pair (2i, 2i+1) at position offset + t rotated by
// (offset + t) * theta^(-2i/D).
Var rope_pairs(const Var& x, int64_t offset, double theta);

// The decode state of one layer: s: [B, H, D, Dv], z: [B, H, D, 1] (undefined before the first token).
struct LinearAttentionState {
  Var s, z;
  int64_t position = 0;  // tokens seen so far
};

// The causal kernel-attention core on feature-mapped queries and keys (shared with Performer):
// fq, fk: [B, H, T, F] (positive features), v: [B, H, T, Dv] -> [B, H, T, Dv], chunked as above; RoPE (when
// on) rotates the features in the numerator.
Var causal_feature_attention_chunked(const Var& fq, const Var& fk, const Var& v, int64_t chunk,
                                     const LinearAttentionOptions& o = {});
// One token of the core: fq, fk: [B, H, F], v: [B, H, Dv] -> [B, H, Dv]; advances `state`.
Var feature_attention_step(const Var& fq, const Var& fk, const Var& v, LinearAttentionState& state,
                           const LinearAttentionOptions& o = {});

// One token. q, k: [B, H, D], v: [B, H, Dv] -> [B, H, Dv]; advances `state`.
Var linear_attention_step(const Var& q, const Var& k, const Var& v, LinearAttentionState& state,
                          const LinearAttentionOptions& o = {});
// q, k: [B, H, T, D], v: [B, H, T, Dv] -> [B, H, T, Dv]: step() at every position.
Var causal_linear_attention_recurrent(const Var& q, const Var& k, const Var& v, const LinearAttentionOptions& o = {});
// The same result, `chunk` tokens at a time (the last chunk may be shorter).
Var causal_linear_attention_chunked(const Var& q, const Var& k, const Var& v, int64_t chunk,
                                    const LinearAttentionOptions& o = {});

// The token mixer: q, k, v, out projections ([dim, dim] with bias, names q.*, k.*, v.*, out.*), heads split
// from the width, causal linear attention between them.
class LinearAttention : public HeadProjections {
 public:
  enum class Form { recurrent, chunked };
  LinearAttention(int64_t dim, int64_t heads, const LinearAttentionOptions& options, Rng& rng,
                  int64_t chunk = 64, DType dtype = DType::f32);
  // x: [B, T, dim] -> [B, T, dim].
  Var forward(const Var& x, Form form = Form::chunked) const;
  // x: [B, dim] -> [B, dim]: the next token, advancing `state`.
  Var step(const Var& x, LinearAttentionState& state) const;

 private:
  int64_t chunk_;
  LinearAttentionOptions options_;
};

}  // namespace rotor::nn
