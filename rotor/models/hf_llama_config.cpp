#include "rotor/models/hf_llama_config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::models {
namespace {

using nlohmann::json;
using kernels::RopeScaling;

// Metadata that does not change the computation of logits.
const std::set<std::string> kHarmlessKeys = {
    "architectures", "torch_dtype",   "dtype",          "transformers_version", "bos_token_id",
    "eos_token_id",  "pad_token_id",  "initializer_range", "use_cache",        "_name_or_path",
    "tokenizer_class", "output_attentions", "output_hidden_states", "return_dict"};

// Reads typed values out of one JSON object, naming "<label>: <prefix><key>" in every error.
class KeyReader {
 public:
  KeyReader(const json& object, std::string label, std::string prefix)
      : object_(object), label_(std::move(label)), prefix_(std::move(prefix)) {
    ROTOR_CHECK(object.is_object(), label_, ": ", prefix_.empty() ? "the config" : prefix_,
                " must be a JSON object, got ", object.dump());
  }

  std::string where(const std::string& key) const { return cat(label_, ": ", prefix_, key); }
  bool has(const std::string& key) const { return object_.contains(key) && !object_.at(key).is_null(); }
  const json& at(const std::string& key) const { return object_.at(key); }

  int64_t integer(const std::string& key, int64_t fallback, int64_t minimum = 1) const {
    if (!has(key)) return fallback;
    const json& v = object_.at(key);
    ROTOR_CHECK(v.is_number_integer(), where(key), " must be an integer, got ", v.dump());
    const int64_t n = v.get<int64_t>();
    ROTOR_CHECK(n >= minimum, where(key), " must be at least ", minimum, ", got ", n);
    return n;
  }
  double number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = object_.at(key);
    ROTOR_CHECK(v.is_number() && std::isfinite(v.get<double>()), where(key), " must be a number, got ", v.dump());
    return v.get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    ROTOR_CHECK(object_.at(key).is_boolean(), where(key), " must be true or false, got ", object_.at(key).dump());
    return object_.at(key).get<bool>();
  }
  std::string string(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    ROTOR_CHECK(object_.at(key).is_string(), where(key), " must be a string, got ", object_.at(key).dump());
    return object_.at(key).get<std::string>();
  }
  // Every key must be in `allowed`.
  void reject_unknown(const std::set<std::string>& allowed, const std::string& why) const {
    for (const auto& item : object_.items())
      ROTOR_CHECK(allowed.count(item.key()), where(item.key()), ": unknown or unsupported key", why);
  }

 private:
  const json& object_;
  std::string label_, prefix_;
};

double yarn_mscale(double factor, double mscale) { return factor <= 1 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0; }

// rope_scaling (or v5's rope_parameters, which also may carry rope_theta / partial_rotary_factor).
RopeScaling parse_rope_scaling(const KeyReader& r, int64_t max_positions, bool v5_parameters) {
  RopeScaling s;
  std::string type = r.string("rope_type", "");
  const std::string old_type = r.string("type", "");
  ROTOR_CHECK(type.empty() || old_type.empty() || type == old_type, r.where("type"), " ('", old_type,
              "') contradicts rope_type ('", type, "')");
  if (type.empty()) type = old_type;
  ROTOR_CHECK(!type.empty(), r.where("rope_type"), " is missing");

  std::set<std::string> allowed = {"rope_type", "type"};
  if (v5_parameters) allowed.insert({"rope_theta", "partial_rotary_factor"});
  if (type == "default") {
    r.reject_unknown(allowed, " for rope_type 'default'");
    return s;
  }
  if (type != "linear" && type != "dynamic" && type != "yarn")
    throw Error(cat(r.where("rope_type"), ": '", type,
                    "' is not supported (rotor supports default, linear, dynamic and yarn)"));
  s.kind = kernels::rope_scaling_kind_from_name(type);
  allowed.insert("factor");
  if (type != "linear") allowed.insert("original_max_position_embeddings");
  if (type == "yarn")
    allowed.insert({"beta_fast", "beta_slow", "attention_factor", "mscale", "mscale_all_dim", "truncate"});
  r.reject_unknown(allowed, cat(" for rope_type '", type, "'"));

  const bool has_factor = r.has("factor");
  const bool has_original = r.has("original_max_position_embeddings");
  const int64_t original = r.integer("original_max_position_embeddings", max_positions);
  if (type == "yarn" && !has_factor && has_original) {
    s.factor = static_cast<double>(max_positions) / static_cast<double>(original);
  } else {
    ROTOR_CHECK(has_factor, r.where("factor"), " is required for rope_type '", type, "'");
    s.factor = r.number("factor", 1.0);
  }
  ROTOR_CHECK(s.factor >= 1.0, r.where("factor"), " must be >= 1, got ", s.factor);

  if (type == "dynamic") {
    // Hugging Face's dynamic NTK grows the base relative to max_position_embeddings.
    ROTOR_CHECK(original == max_positions, r.where("original_max_position_embeddings"), " (", original,
                ") differs from max_position_embeddings (", max_positions,
                "), which Hugging Face's dynamic NTK scaling uses as the pretrained context");
    s.original_max_positions = max_positions;
  } else if (type == "yarn") {
    s.original_max_positions = original;
    if (has_factor && has_original) {
      const double implied = static_cast<double>(max_positions) / static_cast<double>(original);
      ROTOR_CHECK(std::abs(implied - s.factor) <= 1e-9 * implied, r.where("factor"), " (", s.factor,
                  ") contradicts max_position_embeddings / original_max_position_embeddings (", max_positions,
                  " / ", original, " = ", implied, ")");
    }
    // As in Hugging Face, a missing (or zero) beta takes the paper's default.
    const double fast = r.number("beta_fast", 0.0), slow = r.number("beta_slow", 0.0);
    if (fast != 0) s.beta_fast = fast;
    if (slow != 0) s.beta_slow = slow;
    ROTOR_CHECK(s.beta_fast > s.beta_slow && s.beta_slow > 0, r.where("beta_fast"), " (", s.beta_fast,
                ") must exceed beta_slow (", s.beta_slow, ") and both must be positive");
    s.truncate = r.boolean("truncate", true);
    if (r.has("attention_factor")) {
      s.attention_factor = r.number("attention_factor", 0.0);
      ROTOR_CHECK(s.attention_factor > 0, r.where("attention_factor"), " must be positive, got ",
                  s.attention_factor);
    } else {
      const double mscale = r.number("mscale", 0.0), mscale_all_dim = r.number("mscale_all_dim", 0.0);
      if (mscale != 0 && mscale_all_dim != 0)
        s.attention_factor = yarn_mscale(s.factor, mscale) / yarn_mscale(s.factor, mscale_all_dim);
    }
  }
  return s;
}

}  // namespace

HfLlamaConfig parse_hf_llama_config(const json& config, const std::string& label) {
  const KeyReader r(config, label, "");
  r.reject_unknown(
      [] {
        std::set<std::string> keys = kHarmlessKeys;
        keys.insert({"model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                     "num_attention_heads", "num_key_value_heads", "head_dim", "max_position_embeddings",
                     "rms_norm_eps", "rope_theta", "rope_scaling", "rope_parameters", "partial_rotary_factor",
                     "tie_word_embeddings", "hidden_act", "attention_bias", "mlp_bias", "pretraining_tp",
                     "attention_dropout"});
        return keys;
      }(),
      " in a LLaMA config (rotor reads LlamaConfig keys)");

  const std::string model_type = r.string("model_type", "llama");
  ROTOR_CHECK(model_type == "llama", r.where("model_type"), " is '", model_type, "'; only 'llama' is supported");
  const std::string act = r.string("hidden_act", "silu");
  ROTOR_CHECK(act == "silu", r.where("hidden_act"), " is '", act, "'; LLaMA checkpoints use 'silu' (SwiGLU)");
  ROTOR_CHECK(!r.boolean("attention_bias", false), r.where("attention_bias"), ": biases are not supported");
  ROTOR_CHECK(!r.boolean("mlp_bias", false), r.where("mlp_bias"), ": biases are not supported");
  r.integer("pretraining_tp", 1);  // splits the projections into slices; the result is the same
  const double dropout = r.number("attention_dropout", 0.0);
  ROTOR_CHECK(dropout >= 0 && dropout < 1, r.where("attention_dropout"), " must be in [0, 1), got ", dropout);

  HfLlamaConfig c;
  c.vocab_size = r.integer("vocab_size", 32000);
  c.hidden_size = r.integer("hidden_size", 4096);
  c.intermediate_size = r.integer("intermediate_size", 11008);
  c.num_layers = r.integer("num_hidden_layers", 32);
  c.num_heads = r.integer("num_attention_heads", 32);
  c.num_kv_heads = r.integer("num_key_value_heads", c.num_heads);
  ROTOR_CHECK(c.num_heads % c.num_kv_heads == 0, r.where("num_key_value_heads"), " (", c.num_kv_heads,
              ") must divide num_attention_heads (", c.num_heads, ")");
  c.head_dim = r.integer("head_dim", c.hidden_size / c.num_heads);
  c.max_positions = r.integer("max_position_embeddings", 2048);
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
  ROTOR_CHECK(c.rms_norm_eps > 0, r.where("rms_norm_eps"), " must be positive, got ", c.rms_norm_eps);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);

  c.rope.head_dim = c.head_dim;
  c.rope.layout = kernels::RopeLayout::half_split;
  c.rope.theta = r.number("rope_theta", 10000.0);
  c.rope.partial_rotary_factor = r.number("partial_rotary_factor", 1.0);
  if (r.has("rope_parameters")) {
    // transformers v5 keeps theta (and possibly the partial factor) together with the scaling.
    ROTOR_CHECK(!r.has("rope_scaling"), r.where("rope_scaling"), " and rope_parameters are both given");
    const KeyReader p(r.at("rope_parameters"), label, "rope_parameters.");
    c.rope.scaling = parse_rope_scaling(p, c.max_positions, true);
    for (const char* key : {"rope_theta", "partial_rotary_factor"}) {
      if (!p.has(key)) continue;
      const double inner = p.number(key, 0.0);
      double& outer = std::string(key) == "rope_theta" ? c.rope.theta : c.rope.partial_rotary_factor;
      ROTOR_CHECK(!r.has(key) || r.number(key, 0.0) == inner, p.where(key), " (", inner, ") contradicts ", key,
                  " (", r.number(key, 0.0), ")");
      outer = inner;
    }
  } else if (r.has("rope_scaling")) {
    c.rope.scaling = parse_rope_scaling(KeyReader(r.at("rope_scaling"), label, "rope_scaling."), c.max_positions,
                                        false);
  }
  ROTOR_CHECK(c.rope.theta > 0, r.where("rope_theta"), " must be positive, got ", c.rope.theta);
  ROTOR_CHECK(c.rope.partial_rotary_factor > 0 && c.rope.partial_rotary_factor <= 1, r.where("partial_rotary_factor"),
              " must be in (0, 1], got ", c.rope.partial_rotary_factor);
  try {
    kernels::rope_inverse_frequencies_f64(c.rope, 1);  // validates the rotary dimension and the scaling
    kernels::rope_attention_factor_f64(c.rope);
  } catch (const Error& e) {
    throw Error(cat(label, ": ", e.what()));
  }
  return c;
}

HfLlamaConfig read_hf_llama_config(const std::string& path) {
  const std::string text = io::read_file(path);
  // A key given twice would silently keep the last value: reject it as a contradiction.
  std::vector<std::set<std::string>> seen;  // keys of each open object
  std::string duplicate;
  const json::parser_callback_t check_duplicates = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) seen.emplace_back();
    if (event == json::parse_event_t::object_end && !seen.empty()) seen.pop_back();
    if (event == json::parse_event_t::key && !seen.empty() && !seen.back().insert(parsed.get<std::string>()).second &&
        duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  json config;
  try {
    config = json::parse(text, check_duplicates);
  } catch (const json::exception& e) {
    throw Error(cat(path, ": not valid JSON (", e.what(), ")"));
  }
  ROTOR_CHECK(duplicate.empty(), path, ": key '", duplicate, "' appears twice");
  return parse_hf_llama_config(config, path);
}

}  // namespace rotor::models
