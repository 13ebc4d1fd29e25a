#pragma once
// TransformerConfig: the architecture of rotor's decoder-only transformer, and its JSON form
// (config.json of a run directory). Reading is strict: unknown keys, wrong types and contradictory
// values throw rotor::Error naming the key and value.
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "rotor/kernels/activations.h"
#include "rotor/kernels/rope_frequencies.h"

namespace rotor::models {

enum class NormKind { layernorm, rmsnorm };
enum class MlpKind { gelu, gelu_tanh, swiglu, geglu };
// t5 and alibi: relative biases on the attention scores (rotor/nn/relative_positions.h); AutogradGpt only.
enum class PositionKind { rope, sinusoidal, learned, none, t5, alibi };

struct TransformerConfig {
  int64_t layers = 4;
  int64_t dim = 256;
  int64_t heads = 4;
  int64_t kv_heads = 4;      // grouped-query attention when < heads
  int64_t ctx = 256;         // maximum sequence length
  int64_t vocab = 256;
  int64_t mlp_hidden = 0;    // 0: 4*dim for gelu, the LLaMA rule round64(8/3*dim) for gated MLPs
  int64_t attn_head_dim = 0; // 0: dim / heads (otherwise attention width heads*attn_head_dim may differ from dim)
  NormKind norm = NormKind::layernorm;
  MlpKind mlp = MlpKind::gelu;
  PositionKind pos = PositionKind::rope;
  bool tied_head = false;    // output head shares the token embedding
  bool bias = true;          // biases in the linear layers
  double norm_eps = 1e-5;
  double rope_theta = 10000.0;
  double rope_fraction = 1.0;  // partial rotary factor
  kernels::RopeLayout rope_layout = kernels::RopeLayout::half_split;
  kernels::RopeScaling rope_scaling;  // context scaling: none, linear, dynamic (NTK, frequencies for ctx), yarn

  int64_t head_dim() const { return attn_head_dim > 0 ? attn_head_dim : dim / heads; }
  int64_t hidden() const;           // MLP hidden width
  bool gated() const { return mlp == MlpKind::swiglu || mlp == MlpKind::geglu; }
  int64_t qkv_width() const { return (heads + 2 * kv_heads) * head_dim(); }  // fused q|k|v projection
  int64_t up_width() const { return gated() ? 2 * hidden() : hidden(); }     // MLP up projection ([gate|up])
  kernels::Activation activation() const;  // the MLP's pointwise activation
  kernels::RopeSpec rope_spec() const;
  void validate() const;            // throws naming the contradictory value
};

NormKind norm_kind_from_name(const std::string& s);
MlpKind mlp_kind_from_name(const std::string& s);
PositionKind position_kind_from_name(const std::string& s);
const char* norm_kind_name(NormKind k);
const char* mlp_kind_name(MlpKind k);
const char* position_kind_name(PositionKind k);

nlohmann::json config_to_json(const TransformerConfig& c);
// `where` names the source (a file path) in error messages.
TransformerConfig config_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace rotor::models
