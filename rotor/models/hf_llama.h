#pragma once
// Hugging Face LLaMA-architecture checkpoints: a directory with config.json and model.safetensors (or a
// sharded model.safetensors.index.json). Tensors keep their Hugging Face names and [out, in] layout:
//
//   model.embed_tokens.weight                         [vocab, hidden]
//   model.layers.N.input_layernorm.weight             [hidden]
//   model.layers.N.self_attn.q_proj.weight            [heads * head_dim, hidden]
//   model.layers.N.self_attn.{k,v}_proj.weight        [kv_heads * head_dim, hidden]
//   model.layers.N.self_attn.o_proj.weight            [hidden, heads * head_dim]
//   model.layers.N.post_attention_layernorm.weight    [hidden]
//   model.layers.N.mlp.{gate,up}_proj.weight          [intermediate, hidden]
//   model.layers.N.mlp.down_proj.weight               [hidden, intermediate]
//   model.norm.weight                                 [hidden]
//   lm_head.weight                                    [vocab, hidden]   (absent when tie_word_embeddings)
//
// F32, BF16, F16 and F64 weights are converted to f32. A missing tensor, an unexpected tensor, a wrong
// shape or an integer dtype is an error naming the tensor. Old checkpoints' rotary_emb.inv_freq buffers are
// ignored (they are recomputed from the config, as Hugging Face does).
#include <map>
#include <string>
#include <vector>

#include "rotor/core/tensor.h"
#include "rotor/models/hf_llama_config.h"

namespace rotor::models {

struct HfLlamaLayerWeights {
  Tensor input_norm;           // [hidden]
  Tensor q_proj;               // [heads * head_dim, hidden]
  Tensor k_proj;               // [kv_heads * head_dim, hidden]
  Tensor v_proj;               // [kv_heads * head_dim, hidden]
  Tensor o_proj;               // [hidden, heads * head_dim]
  Tensor post_attention_norm;  // [hidden]
  Tensor gate_proj;            // [intermediate, hidden]
  Tensor up_proj;              // [intermediate, hidden]
  Tensor down_proj;            // [hidden, intermediate]
};

struct HfLlamaWeights {
  Tensor embed_tokens;  // [vocab, hidden]
  std::vector<HfLlamaLayerWeights> layers;
  Tensor final_norm;    // [hidden]
  Tensor lm_head;       // [vocab, hidden]; the same tensor as embed_tokens when tied
};

struct HfLlamaModel {
  HfLlamaConfig config;
  HfLlamaWeights weights;  // all f32, contiguous
};

// Takes the named tensors of a checkpoint (any floating dtype) and checks them against the config.
// `label` names the source (the directory) in error messages.
HfLlamaWeights map_hf_llama_tensors(const HfLlamaConfig& config, std::map<std::string, Tensor> tensors,
                                    const std::string& label);

// True when `dir` holds a config.json and model.safetensors or model.safetensors.index.json.
bool is_hf_model_directory(const std::string& dir);

// Reads config.json and the weights of a Hugging Face LLaMA directory.
HfLlamaModel load_hf_llama(const std::string& dir);

}  // namespace rotor::models
