#pragma once
// A float64 forward pass of a Hugging Face LLaMA model: plain loops, for checking checkpoints and the
// fast f32 transformer against an independent reference (and for `rotor logits --dtype f64`).
//
// Per layer (pre-norm):  x += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))  with
// n = rms_norm(x) * input_norm;  then  x += down(silu(gate(m)) * up(m))  with m = rms_norm(x) * post_norm.
// Attention is causal softmax(q k^T / sqrt(head_dim)) v; query head h reads key/value head
// h / (heads / kv_heads). RoPE rotates the first rotary_dim channels of each head in the half-split layout
// at positions 0..T-1 (dynamic NTK sees seq_len = T), with cos/sin times the YaRN attention factor.
#include <cstdint>
#include <vector>

#include "rotor/core/tensor.h"
#include "rotor/models/hf_llama.h"

namespace rotor::models {

// ids: T token ids in [0, vocab). Returns the logits [T, vocab] as an f64 tensor.
Tensor hf_llama_logits_f64(const HfLlamaModel& model, const std::vector<int64_t>& ids);

}  // namespace rotor::models
