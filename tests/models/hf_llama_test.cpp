// Hugging Face LLaMA checkpoints: loading (single file, sharded, F32/BF16/F16, tied/untied, GQA, every
// rope_scaling type, partial rotary) and logits against the float64 PyTorch reference of
// tests/models/make_llama_reference.py (tests/models/data/llama/).
#include "rotor/models/hf_llama.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rotor/core/error.h"
#include "rotor/models/llama_forward_f64.h"

namespace rotor::models {
namespace {

const std::string kDataDir = std::string(ROTOR_SOURCE_DIR) + "/tests/models/data/llama";

struct ReferenceCase {
  std::string name;
  std::vector<int64_t> ids;
  std::vector<double> logits;  // [T, vocab] row-major
};

std::vector<ReferenceCase> load_reference() {
  std::ifstream in(kDataDir + "/reference.json");
  EXPECT_TRUE(in.good()) << "cannot open " << kDataDir << "/reference.json";
  const nlohmann::json j = nlohmann::json::parse(in);
  std::vector<ReferenceCase> cases;
  for (const auto& c : j) {
    ReferenceCase r{c.at("name").get<std::string>(), c.at("ids").get<std::vector<int64_t>>(), {}};
    for (const auto& row : c.at("logits"))
      for (const auto& v : row) r.logits.push_back(v.get<double>());
    cases.push_back(std::move(r));
  }
  return cases;
}

// max |a - b| / max |b|: the relative error of a logits tensor.
double relative_error(const std::vector<double>& got, const std::vector<double>& expected) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    diff = std::max(diff, std::abs(got[i] - expected[i]));
    scale = std::max(scale, std::abs(expected[i]));
  }
  return diff / scale;
}

TEST(HfLlama, Float64LogitsMatchTheIndependentReference) {
  const auto cases = load_reference();
  ASSERT_EQ(cases.size(), 9u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const HfLlamaModel model = load_hf_llama(kDataDir + "/" + c.name);
    const Tensor logits = hf_llama_logits_f64(model, c.ids);
    ASSERT_EQ(logits.shape(), (Shape{static_cast<int64_t>(c.ids.size()), model.config.vocab_size}));
    const double error = relative_error(logits.to_double_vector(), c.logits);
    EXPECT_LE(error, 1e-5);
    EXPECT_LE(error, 1e-12) << "the float64 path should agree to rounding";
  }
}

TEST(HfLlama, ReadsEveryCheckpointVariant) {
  HfLlamaModel m = load_hf_llama(kDataDir + "/mha_tied_bf16");
  EXPECT_TRUE(m.config.tie_word_embeddings);
  EXPECT_TRUE(m.weights.lm_head.shares_storage(m.weights.embed_tokens));
  EXPECT_EQ(m.weights.layers.size(), 2u);
  EXPECT_EQ(m.weights.layers[0].q_proj.dtype(), DType::f32);

  m = load_hf_llama(kDataDir + "/partial_sharded");
  EXPECT_EQ(m.weights.layers.size(), 3u);
  EXPECT_EQ(m.config.head_dim, 16);
  EXPECT_EQ(m.weights.layers[2].q_proj.shape(), (Shape{32, 32}));
  EXPECT_EQ(m.weights.layers[2].k_proj.shape(), (Shape{16, 32}));
  EXPECT_EQ(kernels::rope_rotary_dim(m.config.rope), 4);

  EXPECT_EQ(load_hf_llama(kDataDir + "/dynamic_long").config.rope.scaling.kind, kernels::RopeScaling::Kind::dynamic);
  EXPECT_TRUE(is_hf_model_directory(kDataDir + "/yarn"));
  EXPECT_TRUE(is_hf_model_directory(kDataDir + "/partial_sharded"));
  EXPECT_FALSE(is_hf_model_directory(kDataDir));
}

// The reference cases are sensitive to what they test: dropping the rope scaling or the partial rotary
// factor moves the logits far beyond the tolerance.
TEST(HfLlama, ReferenceDetectsWrongRopeScalingAndPartialRotary) {
  const auto cases = load_reference();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    HfLlamaModel model = load_hf_llama(kDataDir + "/" + c.name);
    if (model.config.rope.scaling.kind != kernels::RopeScaling::Kind::none) {
      HfLlamaModel plain = model;
      plain.config.rope.scaling = kernels::RopeScaling{};
      EXPECT_GT(relative_error(hf_llama_logits_f64(plain, c.ids).to_double_vector(), c.logits), 1e-4);
    }
    if (model.config.rope.partial_rotary_factor < 1) {
      HfLlamaModel full = model;
      full.config.rope.partial_rotary_factor = 1;
      EXPECT_GT(relative_error(hf_llama_logits_f64(full, c.ids).to_double_vector(), c.logits), 1e-4);
    }
  }
}

// A complete set of tensors for a tiny config, for the error tests.
std::map<std::string, Tensor> tiny_tensors(const HfLlamaConfig& c) {
  std::map<std::string, Tensor> t;
  const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  t["model.embed_tokens.weight"] = Tensor::ones({V, H}, DType::bf16);
  t["model.norm.weight"] = Tensor::ones({H});
  t["lm_head.weight"] = Tensor::ones({V, H}, DType::f16);
  for (int64_t n = 0; n < c.num_layers; ++n) {
    const std::string p = cat("model.layers.", n, ".");
    t[p + "input_layernorm.weight"] = Tensor::ones({H});
    t[p + "post_attention_layernorm.weight"] = Tensor::ones({H});
    t[p + "self_attn.q_proj.weight"] = Tensor::ones({c.num_heads * c.head_dim, H});
    t[p + "self_attn.k_proj.weight"] = Tensor::ones({c.num_kv_heads * c.head_dim, H});
    t[p + "self_attn.v_proj.weight"] = Tensor::ones({c.num_kv_heads * c.head_dim, H});
    t[p + "self_attn.o_proj.weight"] = Tensor::ones({H, c.num_heads * c.head_dim});
    t[p + "mlp.gate_proj.weight"] = Tensor::ones({I, H});
    t[p + "mlp.up_proj.weight"] = Tensor::ones({I, H});
    t[p + "mlp.down_proj.weight"] = Tensor::ones({H, I}, DType::f64);
  }
  return t;
}

void expect_mapping_error(const HfLlamaConfig& c, std::map<std::string, Tensor> tensors, const std::string& needle) {
  try {
    map_hf_llama_tensors(c, std::move(tensors), "tiny-dir");
    ADD_FAILURE() << "no error (expected '" << needle << "')";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tiny-dir"), std::string::npos) << e.what();
  }
}

TEST(HfLlama, MissingExtraAndMisshapenTensorsAreErrors) {
  HfLlamaConfig c;
  c.vocab_size = 10, c.hidden_size = 8, c.intermediate_size = 12, c.num_layers = 2;
  c.num_heads = 2, c.num_kv_heads = 1, c.head_dim = 4;
  c.rope.head_dim = 4;

  HfLlamaWeights w = map_hf_llama_tensors(c, tiny_tensors(c), "tiny-dir");
  EXPECT_EQ(w.layers[1].down_proj.dtype(), DType::f32);
  EXPECT_EQ(w.embed_tokens.dtype(), DType::f32);
  EXPECT_EQ(w.layers[1].k_proj.shape(), (Shape{4, 8}));

  auto t = tiny_tensors(c);
  t.erase("model.layers.1.mlp.up_proj.weight");
  expect_mapping_error(c, t, "missing tensor model.layers.1.mlp.up_proj.weight");

  HfLlamaConfig deep = c;
  deep.num_layers = 1000000000;  // must fail fast, not list a billion missing tensors
  expect_mapping_error(deep, tiny_tensors(c), "missing tensor model.layers.999999999.input_layernorm.weight");

  t = tiny_tensors(c);
  t["model.layers.2.mlp.up_proj.weight"] = Tensor::ones({12, 8});
  expect_mapping_error(c, t, "unexpected tensor model.layers.2.mlp.up_proj.weight");

  t = tiny_tensors(c);
  t["model.layers.0.self_attn.rotary_emb.inv_freq"] = Tensor::ones({2});  // old HF buffer: ignored
  EXPECT_NO_THROW(map_hf_llama_tensors(c, t, "tiny-dir"));

  t = tiny_tensors(c);
  t["model.layers.0.self_attn.k_proj.weight"] = Tensor::ones({8, 8});  // as if kv_heads were 2
  expect_mapping_error(c, t, "model.layers.0.self_attn.k_proj.weight has shape [8, 8]");

  t = tiny_tensors(c);
  t["model.norm.weight"] = Tensor::ones({8}, DType::i64);
  expect_mapping_error(c, t, "model.norm.weight has dtype i64");

  // Tied: lm_head may be absent, or present and equal to the embedding.
  c.tie_word_embeddings = true;
  t = tiny_tensors(c);
  EXPECT_NO_THROW(map_hf_llama_tensors(c, t, "tiny-dir"));
  t.erase("lm_head.weight");
  EXPECT_NO_THROW(map_hf_llama_tensors(c, t, "tiny-dir"));
  t["lm_head.weight"] = Tensor::full({10, 8}, 2.0);
  expect_mapping_error(c, t, "lm_head.weight differs");

  c.tie_word_embeddings = false;
  t.erase("lm_head.weight");
  expect_mapping_error(c, t, "missing tensor lm_head.weight");
}

TEST(HfLlama, BadDirectoriesAndTokenIdsAreErrors) {
  EXPECT_THROW(load_hf_llama(kDataDir + "/does-not-exist"), Error);
  EXPECT_THROW(load_hf_llama(kDataDir), Error);  // no config.json
  const HfLlamaModel m = load_hf_llama(kDataDir + "/gqa_untied");
  EXPECT_THROW(hf_llama_logits_f64(m, {}), Error);
  EXPECT_THROW(hf_llama_logits_f64(m, {1, 48}), Error);
  EXPECT_THROW(hf_llama_logits_f64(m, {-1}), Error);
}

}  // namespace
}  // namespace rotor::models
