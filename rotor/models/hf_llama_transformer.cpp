#include "rotor/models/hf_llama_transformer.h"

#include <algorithm>
#include <cstring>

#include "rotor/core/error.h"
#include "rotor/models/llama_forward_f64.h"

namespace rotor::models {
namespace {

// Copies the f32 rows of `parts` one after another into the parameter `name`.
void fill_parameter(Transformer& model, const std::string& name, const std::vector<const Tensor*>& parts) {
  const ParameterInfo& info = model.parameter(name);
  int64_t filled = 0;
  for (const Tensor* part : parts) {
    ROTOR_CHECK(filled + part->numel() <= info.numel, "hf llama: parameter ", name, " ", shape_str(info.shape),
                " is too small for the checkpoint's tensors");
    std::memcpy(model.params() + info.offset + filled, part->data<float>(), sizeof(float) * part->numel());
    filled += part->numel();
  }
  ROTOR_CHECK(filled == info.numel, "hf llama: parameter ", name, " ", shape_str(info.shape), " got ", filled,
              " values from the checkpoint");
}

}  // namespace

TransformerConfig transformer_config_from_hf_llama(const HfLlamaConfig& hf, int64_t ctx) {
  TransformerConfig c;
  c.layers = hf.num_layers;
  c.dim = hf.hidden_size;
  c.heads = hf.num_heads;
  c.kv_heads = hf.num_kv_heads;
  c.ctx = ctx > 0 ? ctx : hf.max_positions;
  c.vocab = hf.vocab_size;
  c.mlp_hidden = hf.intermediate_size;
  c.norm = NormKind::rmsnorm;
  c.mlp = MlpKind::swiglu;
  c.pos = PositionKind::rope;
  c.tied_head = hf.tie_word_embeddings;
  c.bias = false;
  c.norm_eps = hf.rms_norm_eps;
  c.rope_theta = hf.rope.theta;
  c.rope_fraction = hf.rope.partial_rotary_factor;
  c.rope_layout = kernels::RopeLayout::half_split;
  c.rope_scaling = hf.rope.scaling;
  c.attn_head_dim = hf.head_dim;  // may differ from hidden_size / num_attention_heads
  c.validate();
  return c;
}

std::unique_ptr<Transformer> transformer_from_hf_llama(const HfLlamaModel& model, int64_t ctx) {
  auto t = std::make_unique<Transformer>(transformer_config_from_hf_llama(model.config, ctx));
  const HfLlamaWeights& w = model.weights;
  fill_parameter(*t, "wte", {&w.embed_tokens});
  for (size_t n = 0; n < w.layers.size(); ++n) {
    const HfLlamaLayerWeights& l = w.layers[n];
    const std::string p = cat("layers.", n, ".");
    fill_parameter(*t, p + "norm1.weight", {&l.input_norm});
    fill_parameter(*t, p + "attn.qkv.weight", {&l.q_proj, &l.k_proj, &l.v_proj});
    fill_parameter(*t, p + "attn.out.weight", {&l.o_proj});
    fill_parameter(*t, p + "norm2.weight", {&l.post_attention_norm});
    fill_parameter(*t, p + "mlp.up.weight", {&l.gate_proj, &l.up_proj});
    fill_parameter(*t, p + "mlp.down.weight", {&l.down_proj});
  }
  fill_parameter(*t, "norm_f.weight", {&w.final_norm});
  if (!model.config.tie_word_embeddings) fill_parameter(*t, "head.weight", {&w.lm_head});
  return t;
}

Tensor transformer_sequence_logits(Transformer& model, const std::vector<int64_t>& ids) {
  const int64_t T = static_cast<int64_t>(ids.size()), V = model.config().vocab;
  ROTOR_CHECK(T >= 1, "logits: no token ids given");
  std::vector<int32_t> tokens(ids.size());
  for (int64_t t = 0; t < T; ++t) {
    ROTOR_CHECK(ids[t] >= 0 && ids[t] < V, "logits: token id ", ids[t], " at position ", t,
                " is outside the vocabulary [0, ", V, ")");
    tokens[t] = static_cast<int32_t>(ids[t]);
  }
  model.reserve(1, T);
  model.forward(tokens.data(), nullptr, 1, T);
  Tensor out = Tensor::empty({T, V});
  std::memcpy(out.data<float>(), model.logits(), sizeof(float) * T * V);
  return out;
}

Tensor hf_llama_sequence_logits(const std::string& dir, const std::vector<int64_t>& ids, HfLogitsPath path) {
  const HfLlamaModel hf = load_hf_llama(dir);
  if (path == HfLogitsPath::f64) return hf_llama_logits_f64(hf, ids).to(DType::f32);
  auto model = transformer_from_hf_llama(hf, static_cast<int64_t>(ids.size()));
  return transformer_sequence_logits(*model, ids);
}

}  // namespace rotor::models
