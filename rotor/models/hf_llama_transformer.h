#pragma once
// A Hugging Face LLaMA checkpoint as rotor's Transformer (f32, oneDNN matmuls): RMSNorm, SwiGLU, RoPE
// (half-split, partial rotary, linear/dynamic/YaRN scaling), grouped key/value heads, an explicit head_dim,
// no biases, tied or untied head.
//
// Parameter mapping (Hugging Face -> rotor):
//   model.embed_tokens.weight                      -> wte
//   model.layers.N.input_layernorm.weight          -> layers.N.norm1.weight
//   model.layers.N.self_attn.{q,k,v}_proj.weight   -> layers.N.attn.qkv.weight   (rows [q | k | v])
//   model.layers.N.self_attn.o_proj.weight         -> layers.N.attn.out.weight
//   model.layers.N.post_attention_layernorm.weight -> layers.N.norm2.weight
//   model.layers.N.mlp.{gate,up}_proj.weight       -> layers.N.mlp.up.weight     (rows [gate | up])
//   model.layers.N.mlp.down_proj.weight            -> layers.N.mlp.down.weight
//   model.norm.weight                              -> norm_f.weight
//   lm_head.weight                                 -> head.weight (untied only)
//
// The context is `ctx` tokens (0: max_position_embeddings). The RoPE table is computed for that length, so
// with dynamic NTK scaling a forward over exactly ctx tokens matches Hugging Face for one sequence.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rotor/models/hf_llama.h"
#include "rotor/models/transformer.h"

namespace rotor::models {

TransformerConfig transformer_config_from_hf_llama(const HfLlamaConfig& hf, int64_t ctx);
std::unique_ptr<Transformer> transformer_from_hf_llama(const HfLlamaModel& model, int64_t ctx);

// logits: [T, vocab] f32 of one sequence of token ids (T <= the model's context).
Tensor transformer_sequence_logits(Transformer& model, const std::vector<int64_t>& ids);

// The entry point for `rotor logits` on a Hugging Face directory: logits [T, vocab] (f32) of one sequence,
// computed by the f32 Transformer or by the float64 forward (rotor/models/llama_forward_f64.h).
enum class HfLogitsPath { f32, f64 };
Tensor hf_llama_sequence_logits(const std::string& dir, const std::vector<int64_t>& ids,
                                HfLogitsPath path = HfLogitsPath::f32);

}  // namespace rotor::models
