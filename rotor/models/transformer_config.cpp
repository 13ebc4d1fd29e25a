#include "rotor/models/transformer_config.h"

#include <nlohmann/json.hpp>

#include <set>

#include "rotor/core/error.h"

namespace rotor::models {

int64_t TransformerConfig::hidden() const {
  if (mlp_hidden > 0) return mlp_hidden;
  if (!gated()) return 4 * dim;
  const int64_t h = (8 * dim) / 3;
  return ((h + 63) / 64) * 64;
}

kernels::Activation TransformerConfig::activation() const {
  if (mlp == MlpKind::gelu || mlp == MlpKind::geglu) return kernels::Activation::gelu_erf;
  return mlp == MlpKind::gelu_tanh ? kernels::Activation::gelu_tanh : kernels::Activation::silu;
}

kernels::RopeSpec TransformerConfig::rope_spec() const {
  kernels::RopeSpec s;
  s.head_dim = head_dim();
  s.theta = rope_theta;
  s.partial_rotary_factor = rope_fraction;
  s.layout = rope_layout;
  s.scaling = rope_scaling;
  return s;
}

void TransformerConfig::validate() const {
  ROTOR_CHECK(layers >= 1, "config: layers must be >= 1, got ", layers);
  ROTOR_CHECK(dim >= 1 && heads >= 1 && kv_heads >= 1, "config: dim, heads and kv_heads must be >= 1 (got ", dim,
              ", ", heads, ", ", kv_heads, ")");
  ROTOR_CHECK(attn_head_dim >= 0, "config: head_dim must be >= 0, got ", attn_head_dim);
  ROTOR_CHECK(attn_head_dim > 0 || dim % heads == 0, "config: dim ", dim, " is not divisible by heads ", heads);
  ROTOR_CHECK(heads % kv_heads == 0, "config: heads ", heads, " is not a multiple of kv_heads ", kv_heads);
  ROTOR_CHECK(ctx >= 1, "config: ctx must be >= 1, got ", ctx);
  ROTOR_CHECK(vocab >= 1, "config: vocab must be >= 1, got ", vocab);
  ROTOR_CHECK(mlp_hidden >= 0, "config: mlp_hidden must be >= 0, got ", mlp_hidden);
  ROTOR_CHECK(norm_eps > 0, "config: norm_eps must be > 0, got ", norm_eps);
  if (pos == PositionKind::rope) {
    ROTOR_CHECK(rope_theta > 0, "config: rope_theta must be > 0, got ", rope_theta);
    ROTOR_CHECK(rope_fraction > 0 && rope_fraction <= 1, "config: rope_fraction must be in (0, 1], got ",
                rope_fraction);
    using Kind = kernels::RopeScaling::Kind;
    if (rope_scaling.kind != Kind::none) {
      ROTOR_CHECK(rope_scaling.factor > 0, "config: rope_scaling factor must be > 0, got ", rope_scaling.factor);
      ROTOR_CHECK(rope_scaling.kind == Kind::linear || rope_scaling.original_max_positions > 0,
                  "config: rope_scaling ", kernels::rope_scaling_kind_name(rope_scaling.kind),
                  " needs original_max_positions > 0");
    }
    ROTOR_CHECK(kernels::rope_rotary_dim(rope_spec()) >= 2, "config: rope rotates no channels (head_dim ",
                head_dim(), ", fraction ", rope_fraction, ")");
  }
  if (pos == PositionKind::sinusoidal)
    ROTOR_CHECK(dim % 2 == 0, "config: sinusoidal positions need an even dim, got ", dim);
}

NormKind norm_kind_from_name(const std::string& s) {
  if (s == "layernorm") return NormKind::layernorm;
  if (s == "rmsnorm") return NormKind::rmsnorm;
  throw Error(cat("unknown norm '", s, "' (expected layernorm or rmsnorm)"));
}
MlpKind mlp_kind_from_name(const std::string& s) {
  if (s == "gelu") return MlpKind::gelu;
  if (s == "gelu_tanh") return MlpKind::gelu_tanh;
  if (s == "swiglu") return MlpKind::swiglu;
  if (s == "geglu") return MlpKind::geglu;
  throw Error(cat("unknown mlp '", s, "' (expected gelu, gelu_tanh, swiglu or geglu)"));
}
PositionKind position_kind_from_name(const std::string& s) {
  if (s == "rope") return PositionKind::rope;
  if (s == "sinusoidal") return PositionKind::sinusoidal;
  if (s == "learned") return PositionKind::learned;
  if (s == "none") return PositionKind::none;
  if (s == "t5") return PositionKind::t5;
  if (s == "alibi") return PositionKind::alibi;
  throw Error(cat("unknown position encoding '", s, "' (expected rope, sinusoidal, learned, none, t5 or alibi)"));
}
const char* norm_kind_name(NormKind k) { return k == NormKind::layernorm ? "layernorm" : "rmsnorm"; }
const char* mlp_kind_name(MlpKind k) {
  switch (k) {
    case MlpKind::gelu: return "gelu";
    case MlpKind::gelu_tanh: return "gelu_tanh";
    case MlpKind::swiglu: return "swiglu";
    case MlpKind::geglu: return "geglu";
  }
  return "?";
}
const char* position_kind_name(PositionKind k) {
  switch (k) {
    case PositionKind::rope: return "rope";
    case PositionKind::sinusoidal: return "sinusoidal";
    case PositionKind::learned: return "learned";
    case PositionKind::none: return "none";
    case PositionKind::t5: return "t5";
    case PositionKind::alibi: return "alibi";
  }
  return "?";
}

nlohmann::json config_to_json(const TransformerConfig& c) {
  nlohmann::json j;
  j["model"] = "rotor-transformer";
  j["layers"] = c.layers;
  j["dim"] = c.dim;
  j["heads"] = c.heads;
  j["kv_heads"] = c.kv_heads;
  j["ctx"] = c.ctx;
  j["vocab"] = c.vocab;
  j["mlp_hidden"] = c.hidden();
  if (c.attn_head_dim > 0) j["head_dim"] = c.attn_head_dim;
  if (c.rope_scaling.kind != kernels::RopeScaling::Kind::none) {
    const auto& r = c.rope_scaling;
    j["rope_scaling"] = {{"type", kernels::rope_scaling_kind_name(r.kind)}, {"factor", r.factor},
                         {"original_max_positions", r.original_max_positions}, {"beta_fast", r.beta_fast},
                         {"beta_slow", r.beta_slow}, {"attention_factor", r.attention_factor},
                         {"truncate", r.truncate}};
  }
  j["norm"] = norm_kind_name(c.norm);
  j["mlp"] = mlp_kind_name(c.mlp);
  j["pos"] = position_kind_name(c.pos);
  j["tied_head"] = c.tied_head;
  j["bias"] = c.bias;
  j["norm_eps"] = c.norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["rope_fraction"] = c.rope_fraction;
  j["rope_layout"] = c.rope_layout == kernels::RopeLayout::half_split ? "half_split" : "interleaved";
  return j;
}

TransformerConfig config_from_json(const nlohmann::json& j, const std::string& where) {
  ROTOR_CHECK(j.is_object(), where, ": the model config must be a JSON object");
  static const std::set<std::string> known = {"model", "layers", "dim", "heads", "kv_heads", "ctx", "vocab",
                                              "mlp_hidden", "norm", "mlp", "pos", "tied_head", "bias", "norm_eps",
                                              "rope_theta", "rope_fraction", "rope_layout", "head_dim",
                                              "rope_scaling"};
  for (auto it = j.begin(); it != j.end(); ++it)
    ROTOR_CHECK(known.count(it.key()), where, ": unknown config key '", it.key(), "'");
  TransformerConfig c;
  auto integer = [&](const char* key, int64_t& out) {
    if (!j.contains(key)) return;
    ROTOR_CHECK(j[key].is_number_integer(), where, ": config key '", key, "' must be an integer, got ", j[key].dump());
    out = j[key].get<int64_t>();
  };
  auto number = [&](const char* key, double& out) {
    if (!j.contains(key)) return;
    ROTOR_CHECK(j[key].is_number(), where, ": config key '", key, "' must be a number, got ", j[key].dump());
    out = j[key].get<double>();
  };
  auto boolean = [&](const char* key, bool& out) {
    if (!j.contains(key)) return;
    ROTOR_CHECK(j[key].is_boolean(), where, ": config key '", key, "' must be true or false, got ", j[key].dump());
    out = j[key].get<bool>();
  };
  auto text = [&](const char* key) -> std::string {
    ROTOR_CHECK(j[key].is_string(), where, ": config key '", key, "' must be a string, got ", j[key].dump());
    return j[key].get<std::string>();
  };
  if (j.contains("model"))
    ROTOR_CHECK(text("model") == "rotor-transformer", where, ": model '", text("model"),
                "' is not a rotor-transformer config");
  integer("layers", c.layers);
  integer("dim", c.dim);
  integer("heads", c.heads);
  integer("kv_heads", c.kv_heads);
  integer("ctx", c.ctx);
  integer("vocab", c.vocab);
  integer("mlp_hidden", c.mlp_hidden);
  integer("head_dim", c.attn_head_dim);
  if (j.contains("rope_scaling")) {
    const auto& r = j["rope_scaling"];
    ROTOR_CHECK(r.is_object(), where, ": rope_scaling must be an object, got ", r.dump());
    static const std::set<std::string> rkeys = {"type", "factor", "original_max_positions", "beta_fast", "beta_slow",
                                                "attention_factor", "truncate"};
    for (auto it = r.begin(); it != r.end(); ++it)
      ROTOR_CHECK(rkeys.count(it.key()), where, ": unknown rope_scaling key '", it.key(), "'");
    ROTOR_CHECK(r.contains("type") && r["type"].is_string(), where, ": rope_scaling needs a string 'type'");
    try {
      c.rope_scaling.kind = kernels::rope_scaling_kind_from_name(r["type"].get<std::string>());
      c.rope_scaling.factor = r.value("factor", 1.0);
      c.rope_scaling.original_max_positions = r.value("original_max_positions", int64_t(0));
      c.rope_scaling.beta_fast = r.value("beta_fast", 32.0);
      c.rope_scaling.beta_slow = r.value("beta_slow", 1.0);
      c.rope_scaling.attention_factor = r.value("attention_factor", 0.0);
      c.rope_scaling.truncate = r.value("truncate", true);
    } catch (const nlohmann::json::exception& e) {
      throw Error(cat(where, ": bad rope_scaling: ", e.what()));
    } catch (const Error& e) {
      throw Error(cat(where, ": ", e.what()));
    }
  }
  try {
    if (j.contains("norm")) c.norm = norm_kind_from_name(text("norm"));
    if (j.contains("mlp")) c.mlp = mlp_kind_from_name(text("mlp"));
    if (j.contains("pos")) c.pos = position_kind_from_name(text("pos"));
  } catch (const Error& e) {
    throw Error(cat(where, ": ", e.what()));
  }
  boolean("tied_head", c.tied_head);
  boolean("bias", c.bias);
  number("norm_eps", c.norm_eps);
  number("rope_theta", c.rope_theta);
  number("rope_fraction", c.rope_fraction);
  if (j.contains("rope_layout")) {
    const std::string s = text("rope_layout");
    ROTOR_CHECK(s == "half_split" || s == "interleaved", where, ": rope_layout '", s,
                "' (expected half_split or interleaved)");
    c.rope_layout = s == "half_split" ? kernels::RopeLayout::half_split : kernels::RopeLayout::interleaved;
  }
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(cat(where, ": ", e.what()));
  }
  return c;
}

}  // namespace rotor::models
