#pragma once
// Autograd wrapper of the fused causal attention kernel (rotor/kernels/attention.h): rotary position
// embedding on q and k, grouped-query attention and the causal softmax in one op, reading q/k/v straight
// from the fused projection output. The composite scaled_dot_product_attention (attention.h) computes
// the same function from basic ops; this one is the fast path.
#include "rotor/autograd/var.h"
#include "rotor/kernels/rope_frequencies.h"

namespace rotor::autograd {

struct FusedAttentionSpec {
  int64_t heads = 1;               // H query heads
  int64_t kv_heads = 1;            // KV key/value heads (H % KV == 0)
  bool rope = false;               // rotate q and k by their positions 0 .. T-1
  kernels::RopeSpec rope_spec;     // theta, layout, partial fraction, scaling (head_dim is filled in)
};

// qkv: [B, T, (H + 2 KV) Dh] holding [q heads | k heads | v heads] per position -> [B, T, H Dh].
// f32 or f64 (f64 serves gradient checks). Memory: saves the [B, H, T, T] probabilities for backward.
Var fused_causal_attention(const Var& qkv, const FusedAttentionSpec& spec);

}  // namespace rotor::autograd
