#include "rotor/models/hf_llama_config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rotor/core/error.h"

namespace rotor::models {
namespace {

using nlohmann::json;
using kernels::RopeScaling;

json small_config() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32, "intermediate_size": 40,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
    "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": null, "tie_word_embeddings": false,
    "vocab_size": 48, "hidden_act": "silu", "attention_bias": false, "mlp_bias": false, "pretraining_tp": 1,
    "torch_dtype": "bfloat16", "transformers_version": "4.46.0", "bos_token_id": 1, "eos_token_id": [2, 3],
    "use_cache": true, "initializer_range": 0.02, "attention_dropout": 0.0})");
}

// Expects parsing to throw an Error whose message contains `needle`.
void expect_error(const json& config, const std::string& needle) {
  try {
    parse_hf_llama_config(config, "config.json");
    ADD_FAILURE() << "no error for " << config.dump() << " (expected '" << needle << "')";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
}

TEST(HfLlamaConfig, ReadsLlamaConfigKeysAndDefaults) {
  HfLlamaConfig c = parse_hf_llama_config(small_config(), "config.json");
  EXPECT_EQ(c.vocab_size, 48);
  EXPECT_EQ(c.hidden_size, 32);
  EXPECT_EQ(c.intermediate_size, 40);
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.max_positions, 64);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.rope.head_dim, 8);
  EXPECT_EQ(c.rope.layout, kernels::RopeLayout::half_split);
  EXPECT_EQ(c.rope.scaling.kind, RopeScaling::Kind::none);

  json j = small_config();
  for (const char* key : {"num_key_value_heads", "rms_norm_eps", "rope_theta", "tie_word_embeddings"}) j.erase(key);
  j["head_dim"] = 16;
  j["partial_rotary_factor"] = 0.5;
  c = parse_hf_llama_config(j, "config.json");
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope.theta, 10000.0);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(kernels::rope_rotary_dim(c.rope), 8);
}

TEST(HfLlamaConfig, ReadsEachRopeScalingType) {
  json j = small_config();
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  HfLlamaConfig c = parse_hf_llama_config(j, "config.json");
  EXPECT_EQ(c.rope.scaling.kind, RopeScaling::Kind::linear);
  EXPECT_DOUBLE_EQ(c.rope.scaling.factor, 2.0);

  j["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 3}};
  c = parse_hf_llama_config(j, "config.json");
  EXPECT_EQ(c.rope.scaling.kind, RopeScaling::Kind::dynamic);
  EXPECT_EQ(c.rope.scaling.original_max_positions, 64);

  j["max_position_embeddings"] = 1024;
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 256},
                       {"beta_fast", 8.0}, {"beta_slow", 1.0}};
  c = parse_hf_llama_config(j, "config.json");
  EXPECT_EQ(c.rope.scaling.kind, RopeScaling::Kind::yarn);
  EXPECT_EQ(c.rope.scaling.original_max_positions, 256);
  EXPECT_DOUBLE_EQ(c.rope.scaling.beta_fast, 8.0);
  EXPECT_NEAR(kernels::rope_attention_factor_f64(c.rope), 0.1 * std::log(4.0) + 1, 1e-15);

  // Only the context lengths: the factor is their ratio; beta 0 takes the default as in Hugging Face.
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"original_max_position_embeddings", 128}, {"beta_fast", 0}};
  c = parse_hf_llama_config(j, "config.json");
  EXPECT_DOUBLE_EQ(c.rope.scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope.scaling.beta_fast, 32.0);

  // DeepSeek-style mscale: attention factor = mscale(f, 0.707) / mscale(f, 1).
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"mscale", 0.707}, {"mscale_all_dim", 1.0}};
  c = parse_hf_llama_config(j, "config.json");
  EXPECT_NEAR(kernels::rope_attention_factor_f64(c.rope),
              (0.1 * 0.707 * std::log(4.0) + 1) / (0.1 * std::log(4.0) + 1), 1e-15);

  // transformers v5: rope_parameters carries theta and the scaling.
  j = small_config();
  j.erase("rope_theta");
  j.erase("rope_scaling");
  j["rope_parameters"] = {{"rope_type", "linear"}, {"rope_theta", 500000.0}, {"factor", 8.0}};
  c = parse_hf_llama_config(j, "config.json");
  EXPECT_DOUBLE_EQ(c.rope.theta, 500000.0);
  EXPECT_EQ(c.rope.scaling.kind, RopeScaling::Kind::linear);
  EXPECT_DOUBLE_EQ(c.rope.scaling.factor, 8.0);
}

TEST(HfLlamaConfig, RejectsUnknownUnsupportedAndContradictoryKeys) {
  json j = small_config();
  j["sliding_window"] = 4096;
  expect_error(j, "sliding_window");

  j = small_config();
  j["model_type"] = "mistral";
  expect_error(j, "model_type");
  j = small_config();
  j["hidden_act"] = "gelu";
  expect_error(j, "hidden_act");
  j = small_config();
  j["attention_bias"] = true;
  expect_error(j, "attention_bias");
  j = small_config();
  j["num_key_value_heads"] = 3;
  expect_error(j, "num_key_value_heads");
  j = small_config();
  j["hidden_size"] = "32";
  expect_error(j, "hidden_size");
  j = small_config();
  j["num_hidden_layers"] = 0;
  expect_error(j, "num_hidden_layers");
  j = small_config();
  j["partial_rotary_factor"] = 0.3;  // 8 * 0.3 = 2.4 -> 2 channels: fine; 0.1 -> 0: not
  EXPECT_NO_THROW(parse_hf_llama_config(j, "config.json"));
  j["partial_rotary_factor"] = 0.1;
  expect_error(j, "rotary dimension");

  j = small_config();
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  expect_error(j, "'llama3' is not supported");
  j["rope_scaling"] = {{"rope_type", "linear"}, {"type", "dynamic"}, {"factor", 2.0}};
  expect_error(j, "rope_scaling.type");
  j["rope_scaling"] = {{"rope_type", "linear"}};
  expect_error(j, "rope_scaling.factor");
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 0.5}};
  expect_error(j, "rope_scaling.factor");
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"beta_fast", 32.0}};
  expect_error(j, "rope_scaling.beta_fast");
  j["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 2.0}, {"original_max_position_embeddings", 32}};
  expect_error(j, "rope_scaling.original_max_position_embeddings");
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32}};
  expect_error(j, "contradicts max_position_embeddings / original_max_position_embeddings");
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"beta_fast", 1.0}, {"beta_slow", 2.0}};
  expect_error(j, "rope_scaling.beta_fast");
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"attention_factor", 0.0}};
  expect_error(j, "rope_scaling.attention_factor");
  j["rope_scaling"] = "linear";
  expect_error(j, "rope_scaling");

  j = small_config();
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 500000.0}};
  expect_error(j, "rope_parameters.rope_theta");  // contradicts rope_theta 10000
  j.erase("rope_scaling");
  j["rope_theta"] = 500000.0;
  EXPECT_NO_THROW(parse_hf_llama_config(j, "config.json"));
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}};
  expect_error(j, "rope_parameters are both given");

  EXPECT_THROW(read_hf_llama_config("/nonexistent/config.json"), Error);
}

TEST(HfLlamaConfig, ReadsFilesAndRejectsDuplicateKeysAndBadJson) {
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + name) << text;
    return dir + name;
  };
  std::string body = small_config().dump();
  EXPECT_EQ(read_hf_llama_config(write("good_config.json", body)).num_kv_heads, 2);
  body.insert(1, "\"num_key_value_heads\": 4, ");
  try {
    read_hf_llama_config(write("dup_config.json", body));
    ADD_FAILURE() << "duplicate key accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'num_key_value_heads' appears twice"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_hf_llama_config(write("bad_config.json", "{\"hidden_size\": 32,")), Error);
  // The same key in different objects is fine.
  json j = small_config();
  j.erase("rope_scaling");
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};  // rope_theta at two levels
  EXPECT_NO_THROW(read_hf_llama_config(write("nested_config.json", j.dump())));
}

}  // namespace
}  // namespace rotor::models
