#pragma once
// The gated attention unit (GAU) and FLASH's mixed chunked attention (Hua, Dai, Liu, Le 2022,
// "Transformer Quality in Linear Time"), causal, one head.
//   u, v = split(silu(hidden(x)))  [B, T, e] each;  z = silu(qk(x))  [B, T, s]   (shared base)
//   q_quad, q_lin, k_quad, k_lin = z * gamma[r] + beta[r], r = 0..3    (per-dimension scales and offsets)
// Tokens are grouped in chunks of C. Inside a chunk (quadratic, causal):
//   A[m, j] = relu(q_quad_m . k_quad_j / sqrt(s) + rel_bias[m - j])^2 / C,   j <= m in m's chunk
// across chunks (linear, causal at chunk granularity):
//   lin_m = q_lin_m^T sum_{j in earlier chunks} k_lin_j v_j^T / n
//   out = out_proj(u * (A v + lin))
// With C >= T it is the plain GAU (quadratic attention with squared-ReLU scores, gated by u). The
// normalisers C and n are constants of the layer (n: the context length it is built for), so a position's
// output does not depend on how many tokens follow it, and step() decodes with a chunk cache plus the
// [s, e] linear state. Parameters: hidden.* [2e, d], qk.* [s, d], gamma, beta [4, s], rel_bias [C], out.*.
#include <memory>
#include <vector>

#include "rotor/nn/layers.h"

namespace rotor::nn {

struct FlashOptions {
  int64_t expansion = 2;   // e = expansion * d
  int64_t qk_dim = 64;     // s
  int64_t chunk = 64;      // C
  int64_t norm_length = 256;  // n
};

// The parameters as Vars (the module's own, or free inputs for gradient checks).
struct FlashWeights {
  Var hidden_w, hidden_b, qk_w, qk_b, gamma, beta, rel_bias;
};
// x: [B, T, d] -> [B, T, e]: u * (A v + lin), the mixer before the output projection.
Var flash_mix(const Var& x, const FlashWeights& w, int64_t chunk, int64_t norm_length);

struct FlashState {
  Var kv;                                  // [B, s, e], earlier chunks (already / n)
  std::vector<Var> k_quad, k_lin, values;  // the current chunk's [B, s], [B, s], [B, e]
  int64_t position = 0;
};

class FlashAttention : public Module {
 public:
  FlashAttention(int64_t dim, const FlashOptions& options, Rng& rng, DType dtype = DType::f32);
  // x: [B, T, dim] -> [B, T, dim].
  Var forward(const Var& x) const;
  // x: [B, dim] -> [B, dim], advancing `state`.
  Var step(const Var& x, FlashState& state) const;

 private:
  FlashWeights weights() const;

  std::shared_ptr<Linear> hidden_, qk_, out_;
  Var gamma_, beta_, rel_bias_;
  int64_t chunk_, norm_length_;
};

}  // namespace rotor::nn
