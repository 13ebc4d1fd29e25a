#pragma once
// Relative position biases added to attention scores (instead of position embeddings):
//   T5 (Raffel et al. 2020, sec. 2.1): a learned scalar per head for each bucket of the relative distance
//     key - query. Unidirectional (causal): n = max(query - key, 0); bidirectional: the buckets are halved
//     and keys after the query use the upper half, n = |query - key|. Of the B buckets (after halving), the
//     first B/2 hold n exactly, the rest grow logarithmically up to max_distance:
//       bucket = n                                                          for n < B/2
//              = min(B - 1, B/2 + floor(log(n / (B/2)) / log(max_distance / (B/2)) * (B - B/2)))  otherwise
//   ALiBi (Press, Smith, Lewis 2022): no parameters; head h adds -m_h (query - key), with the geometric
//     slopes m_h = 2^(-8 (h+1) / H) for H a power of two, otherwise those of the nearest lower power of two
//     M followed by every other slope of 2M (the paper's rule).
// biased_causal_attention composes the attention from autograd ops (matmul, add, masked_fill, softmax),
// so gradients reach q, k, v and the T5 table through the tape.
#include "rotor/core/rng.h"
#include "rotor/nn/module.h"

namespace rotor::nn {

// relative = key - query.
int64_t t5_bucket(int64_t relative, bool bidirectional, int64_t buckets, int64_t max_distance);
// [tq, tk] i64: the bucket of (key j, query offset + i).
Tensor t5_buckets(int64_t tq, int64_t tk, int64_t offset, bool bidirectional, int64_t buckets, int64_t max_distance);

class T5RelativeBias : public Module {
 public:
  // Parameter "weight" [buckets, heads] ~ N(0, init_std^2).
  T5RelativeBias(int64_t heads, int64_t buckets, int64_t max_distance, bool bidirectional, Rng& rng,
                 double init_std, DType dtype = DType::f32);
  // -> [heads, tq, tk], queries at positions offset .. offset + tq - 1, keys at 0 .. tk - 1.
  Var forward(int64_t tq, int64_t tk, int64_t offset = 0) const;

 private:
  Var weight_;
  int64_t buckets_, max_distance_;
  bool bidirectional_;
};

Tensor alibi_slopes(int64_t heads, DType dtype = DType::f32);  // [heads]
// [heads, tq, tk]: -slope_h * (offset + i - j).
Tensor alibi_bias(int64_t heads, int64_t tq, int64_t tk, int64_t offset = 0, DType dtype = DType::f32);

// q: [B, H, Tq, D], k: [B, H, Tk, D], v: [B, H, Tk, Dv], bias: [H, Tq, Tk] (or undefined) -> [B, H, Tq, Dv]:
// softmax(q k^T / sqrt(D) + bias) v with query i seeing keys j <= i + Tk - Tq (aligned at the end).
Var biased_causal_attention(const Var& q, const Var& k, const Var& v, const Var& bias);

}  // namespace rotor::nn
