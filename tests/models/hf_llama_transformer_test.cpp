// Hugging Face LLaMA checkpoints run by rotor's f32 Transformer, against the float64 PyTorch reference of
// tests/models/make_llama_reference.py.
#include "rotor/models/hf_llama_transformer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rotor/core/error.h"

namespace rotor::models {
namespace {

const std::string kDataDir = std::string(ROTOR_SOURCE_DIR) + "/tests/models/data/llama";

// max |a - b| / max |b|
double relative_error(const std::vector<float>& got, const std::vector<double>& expected) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(got[i]) - expected[i]));
    scale = std::max(scale, std::abs(expected[i]));
  }
  return diff / scale;
}

TEST(HfLlamaTransformer, F32LogitsMatchTheFloat64Reference) {
  std::ifstream in(kDataDir + "/reference.json");
  ASSERT_TRUE(in.good());
  const nlohmann::json cases = nlohmann::json::parse(in);
  int compared = 0;
  for (const auto& c : cases) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    const std::vector<int64_t> ids = c.at("ids").get<std::vector<int64_t>>();
    std::vector<double> expected;
    for (const auto& row : c.at("logits"))
      for (const auto& v : row) expected.push_back(v.get<double>());

    const HfLlamaModel hf = load_hf_llama(kDataDir + "/" + name);
    auto model = transformer_from_hf_llama(hf, static_cast<int64_t>(ids.size()));
    EXPECT_EQ(model->config().ctx, static_cast<int64_t>(ids.size()));
    const Tensor logits = transformer_sequence_logits(*model, ids);
    ASSERT_EQ(logits.shape(), (Shape{static_cast<int64_t>(ids.size()), hf.config.vocab_size}));
    const double error = relative_error(logits.to_float_vector(), expected);
    EXPECT_LE(error, 1e-5);
    std::printf("[ info     ] %s: f32 transformer max|a-b|/max|b| = %.3g\n", name.c_str(), error);
    // The entry point of `rotor logits`, by either path.
    for (HfLogitsPath path : {HfLogitsPath::f32, HfLogitsPath::f64})
      EXPECT_LE(relative_error(hf_llama_sequence_logits(kDataDir + "/" + name, ids, path).to_float_vector(), expected),
                1e-5);
    ++compared;
  }
  EXPECT_EQ(compared, 9);
}

TEST(HfLlamaTransformer, MapsParametersByName) {
  const HfLlamaModel hf = load_hf_llama(kDataDir + "/gqa_untied");
  auto model = transformer_from_hf_llama(hf, 0);
  const TransformerConfig& c = model->config();
  EXPECT_EQ(c.ctx, 64);  // max_position_embeddings
  EXPECT_EQ(c.head_dim(), 8);
  EXPECT_EQ(c.norm, NormKind::rmsnorm);
  EXPECT_EQ(c.mlp, MlpKind::swiglu);
  EXPECT_EQ(c.kv_heads, 2);
  EXPECT_EQ(c.hidden(), 40);
  EXPECT_FALSE(c.bias);
  // qkv rows are [q | k | v]; mlp.up rows are [gate | up].
  const ParameterInfo& qkv = model->parameter("layers.1.attn.qkv.weight");
  EXPECT_EQ(qkv.shape, (Shape{32 + 2 * 16, 32}));
  const float* p = model->params() + qkv.offset;
  EXPECT_EQ(p[0], hf.weights.layers[1].q_proj.data<float>()[0]);
  EXPECT_EQ(p[32 * 32], hf.weights.layers[1].k_proj.data<float>()[0]);
  EXPECT_EQ(p[48 * 32 + 5], hf.weights.layers[1].v_proj.data<float>()[5]);
  const ParameterInfo& up = model->parameter("layers.0.mlp.up.weight");
  EXPECT_EQ(model->params()[up.offset + 40 * 32 + 7], hf.weights.layers[0].up_proj.data<float>()[7]);
  EXPECT_EQ(model->params()[up.offset + 3], hf.weights.layers[0].gate_proj.data<float>()[3]);
  EXPECT_THROW(transformer_sequence_logits(*model, {1, 48}), Error);
  // head_dim 16 with hidden 32 and 4 heads; YaRN scaling reaches the transformer's RoPE.
  const HfLlamaModel yarn = load_hf_llama(kDataDir + "/yarn");
  const TransformerConfig yc = transformer_config_from_hf_llama(yarn.config, 12);
  EXPECT_EQ(yc.head_dim(), 16);
  EXPECT_EQ(yc.rope_scaling.kind, kernels::RopeScaling::Kind::yarn);
  EXPECT_EQ(yc.rope_scaling.original_max_positions, 256);
  EXPECT_EQ(transformer_from_hf_llama(yarn, 12)->parameter("layers.0.attn.out.weight").shape, (Shape{32, 64}));
  const Tensor f64 = hf_llama_sequence_logits(kDataDir + "/gqa_untied", {1, 2, 3}, HfLogitsPath::f64);
  const Tensor f32 = hf_llama_sequence_logits(kDataDir + "/gqa_untied", {1, 2, 3}, HfLogitsPath::f32);
  EXPECT_EQ(f64.dtype(), DType::f32);
  EXPECT_LE(relative_error(f32.to_float_vector(), f64.to_double_vector()), 1e-5);
}

}  // namespace
}  // namespace rotor::models
