#pragma once
// Performer's FAVOR+ attention (Choromanski et al. 2021, "Rethinking Attention with Performers"):
// softmax attention exp(q.k / sqrt(D)) approximated by positive random features
//   phi(x) = exp(W x' - |x'|^2 / 2) / sqrt(M),  x' = x / D^(1/4),  W: [M, D]
// so that E[phi(q)^T phi(k)] = exp(q.k / sqrt(D)); causal attention is then the prefix-sum (linear
// attention) core of rotor/nn/linear_attention.h on these features. W is drawn in orthogonal blocks: each
// D x D block has orthonormal rows (Gram-Schmidt of a Gaussian matrix) rescaled by the norms of independent
// Gaussian D-vectors (chi_D, the norm a Gaussian row has), the last block truncated to M rows. W is not a
// parameter; redraw() draws a new one from the caller's seeded generator. No max-subtraction stabiliser is
// applied (the features are exp of O(|x|) arguments; inputs are projections of normalised activations).
#include <memory>

#include "rotor/nn/head_projections.h"
#include "rotor/nn/linear_attention.h"

namespace rotor::nn {

// [M, D] orthogonal random features, drawn from `rng` (row-major, block by block).
Tensor orthogonal_random_features(int64_t features, int64_t dim, Rng& rng, DType dtype = DType::f32);
// x: [B, H, T, D], w: [M, D] -> [B, H, T, M].
Var favor_features(const Var& x, const Var& w);
// q, k: [B, H, T, D], v: [B, H, T, Dv], w: [M, D] -> [B, H, T, Dv], causal, chunked.
Var performer_attention(const Var& q, const Var& k, const Var& v, const Var& w, int64_t chunk);

class Performer : public HeadProjections {
 public:
  // Projections q.*, k.*, v.*, out.* ([dim, dim] with bias); `features` random features per head (shared).
  Performer(int64_t dim, int64_t heads, int64_t features, Rng& rng, int64_t chunk = 64, DType dtype = DType::f32);
  // x: [B, T, dim] -> [B, T, dim].
  Var forward(const Var& x) const;
  // x: [B, dim] -> [B, dim], advancing `state`.
  Var step(const Var& x, LinearAttentionState& state) const;
  // A new W from `rng` (a training loop calls this every --redraw steps).
  void redraw(Rng& rng);
  const Tensor& projection() const { return w_; }
  void set_projection(const Tensor& w);  // [M, Dh], e.g. a saved model's features

 private:
  Tensor w_;  // [M, Dh]
  int64_t chunk_;
};

}  // namespace rotor::nn
