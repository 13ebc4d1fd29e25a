#include "rotor/models/hf_llama.h"

#include <filesystem>

#include "rotor/core/error.h"
#include "rotor/io/safetensors.h"

namespace rotor::models {
namespace {

// Lists at most a few names, for error messages.
std::string some_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 5) out += cat(", ... (", names.size(), " in all)");
  return out;
}

bool is_ignored_buffer(const std::string& name) {
  const std::string suffix = ".self_attn.rotary_emb.inv_freq";
  return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class TensorTaker {
 public:
  TensorTaker(std::map<std::string, Tensor> tensors, std::string label)
      : tensors_(std::move(tensors)), label_(std::move(label)) {}

  // Removes `name` from the pool, checks its shape and returns it as contiguous f32.
  Tensor take(const std::string& name, const Shape& shape) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) {
      missing_.push_back(name);
      return Tensor();
    }
    Tensor t = std::move(it->second);
    tensors_.erase(it);
    ROTOR_CHECK(dtype_is_floating(t.dtype()), label_, ": tensor ", name, " has dtype ", dtype_name(t.dtype()),
                "; LLaMA weights must be floating point");
    ROTOR_CHECK(t.shape() == shape, label_, ": tensor ", name, " has shape ", shape_str(t.shape()), ", the config (",
                "config.json) implies ", shape_str(shape));
    return t.to(DType::f32).contiguous();
  }
  std::map<std::string, Tensor>& remaining() { return tensors_; }

  // Throws when something was missing or is left over.
  void finish() {
    ROTOR_CHECK(missing_.empty(), label_, ": missing tensor", missing_.size() > 1 ? "s " : " ", some_names(missing_));
    std::vector<std::string> extra;
    for (const auto& [name, t] : tensors_)
      if (!is_ignored_buffer(name)) extra.push_back(name);
    ROTOR_CHECK(extra.empty(), label_, ": unexpected tensor", extra.size() > 1 ? "s " : " ", some_names(extra),
                " (not part of a LLaMA model with this config)");
  }

 private:
  std::map<std::string, Tensor> tensors_;
  std::string label_;
  std::vector<std::string> missing_;
};

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  const float* x = a.data<float>();
  const float* y = b.data<float>();
  for (int64_t i = 0; i < a.numel(); ++i)
    if (x[i] != y[i]) return false;
  return true;
}

}  // namespace

HfLlamaWeights map_hf_llama_tensors(const HfLlamaConfig& c, std::map<std::string, Tensor> tensors,
                                    const std::string& label) {
  TensorTaker taker(std::move(tensors), label);
  const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const int64_t q_width = c.num_heads * c.head_dim, kv_width = c.num_kv_heads * c.head_dim;

  // A config that claims more layers than the checkpoint holds fails on the last layer, before any loop.
  const std::string last_layer = cat("model.layers.", c.num_layers - 1, ".input_layernorm.weight");
  ROTOR_CHECK(taker.remaining().count(last_layer), label, ": missing tensor ", last_layer, " (num_hidden_layers is ",
              c.num_layers, ")");

  HfLlamaWeights w;
  w.embed_tokens = taker.take("model.embed_tokens.weight", {V, H});
  for (int64_t n = 0; n < c.num_layers; ++n) {
    const std::string p = cat("model.layers.", n, ".");
    HfLlamaLayerWeights layer;
    layer.input_norm = taker.take(p + "input_layernorm.weight", {H});
    layer.q_proj = taker.take(p + "self_attn.q_proj.weight", {q_width, H});
    layer.k_proj = taker.take(p + "self_attn.k_proj.weight", {kv_width, H});
    layer.v_proj = taker.take(p + "self_attn.v_proj.weight", {kv_width, H});
    layer.o_proj = taker.take(p + "self_attn.o_proj.weight", {H, q_width});
    layer.post_attention_norm = taker.take(p + "post_attention_layernorm.weight", {H});
    layer.gate_proj = taker.take(p + "mlp.gate_proj.weight", {I, H});
    layer.up_proj = taker.take(p + "mlp.up_proj.weight", {I, H});
    layer.down_proj = taker.take(p + "mlp.down_proj.weight", {H, I});
    w.layers.push_back(std::move(layer));
  }
  w.final_norm = taker.take("model.norm.weight", {H});
  if (c.tie_word_embeddings) {
    // A tied checkpoint may still carry a copy of the head; it must then equal the embedding.
    if (taker.remaining().count("lm_head.weight")) {
      Tensor head = taker.take("lm_head.weight", {V, H});
      ROTOR_CHECK(!w.embed_tokens.defined() || same_values(head, w.embed_tokens), label,
                  ": lm_head.weight differs from model.embed_tokens.weight but tie_word_embeddings is true");
    }
    w.lm_head = w.embed_tokens;
  } else {
    w.lm_head = taker.take("lm_head.weight", {V, H});
  }
  taker.finish();
  return w;
}

bool is_hf_model_directory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / "config.json", ec) &&
         (fs::is_regular_file(fs::path(dir) / "model.safetensors", ec) ||
          fs::is_regular_file(fs::path(dir) / "model.safetensors.index.json", ec));
}

HfLlamaModel load_hf_llama(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  ROTOR_CHECK(fs::is_directory(dir, ec), "hf llama: '", dir, "' is not a directory");
  ROTOR_CHECK(fs::is_regular_file(fs::path(dir) / "config.json", ec), "hf llama: '", dir,
              "' has no config.json");
  HfLlamaModel model;
  model.config = read_hf_llama_config((fs::path(dir) / "config.json").string());
  model.weights = map_hf_llama_tensors(model.config, io::load_model_tensors(dir), dir);
  return model;
}

}  // namespace rotor::models
