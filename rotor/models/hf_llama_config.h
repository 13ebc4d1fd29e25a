#pragma once
// The `config.json` of a Hugging Face LLaMA-architecture checkpoint (transformers' LlamaConfig), read
// strictly: every key is either understood, known to be harmless metadata, or an error naming it.
//
// Understood keys (defaults as in LlamaConfig): vocab_size, hidden_size, intermediate_size,
// num_hidden_layers, num_attention_heads, num_key_value_heads (= heads), head_dim (= hidden / heads),
// max_position_embeddings (2048), rms_norm_eps (1e-6), rope_theta (10000), rope_scaling (null),
// partial_rotary_factor (1), tie_word_embeddings (false), hidden_act ("silu" only), attention_bias and
// mlp_bias (false only), pretraining_tp (a positive integer; it only splits matmuls), attention_dropout,
// model_type ("llama" only), and transformers v5's rope_parameters (rope_type, rope_theta, scaling keys).
//
// rope_scaling: {"rope_type" (or the older "type"): "default" | "linear" | "dynamic" | "yarn", "factor",
// "original_max_position_embeddings", "beta_fast", "beta_slow", "attention_factor", "mscale",
// "mscale_all_dim", "truncate"} with Hugging Face's meaning (see rotor/kernels/rope_frequencies.h).
// Contradictions are errors rather than a silent choice between Hugging Face versions:
//   - dynamic NTK uses max_position_embeddings as the pretrained context, so a different
//     original_max_position_embeddings is rejected;
//   - YaRN with both factor and original_max_position_embeddings requires
//     factor == max_position_embeddings / original_max_position_embeddings (older transformers
//     overrode the factor by that ratio, newer ones ignore the ratio); with only the latter, the factor
//     is that ratio.
// partial_rotary_factor: the first int(head_dim * factor) channels of each head are rotated (half-split
// pairs within them), the rest pass through, as in Hugging Face's partial-rotary models.
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "rotor/kernels/rope_frequencies.h"

namespace rotor::models {

struct HfLlamaConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_positions = 2048;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  kernels::RopeSpec rope;  // head_dim, theta, partial rotary factor, half-split layout, scaling
};

// `label` names the source in error messages (e.g. the file path).
HfLlamaConfig parse_hf_llama_config(const nlohmann::json& config, const std::string& label);
HfLlamaConfig read_hf_llama_config(const std::string& config_json_path);

}  // namespace rotor::models
