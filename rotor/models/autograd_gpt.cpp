#include "rotor/models/autograd_gpt.h"

#include <string>

#include "rotor/autograd/ops.h"
#include "rotor/nn/positions.h"

namespace rotor::models {

namespace ag = rotor::autograd;
using ag::Var;

namespace {

// A norm module of the configured kind ("weight", and "bias" for layernorm).
std::shared_ptr<nn::Module> make_norm(const TransformerConfig& c) {
  if (c.norm == NormKind::layernorm) return std::make_shared<nn::LayerNorm>(c.dim, c.norm_eps);
  return std::make_shared<nn::RMSNorm>(c.dim, c.norm_eps);
}

Var apply_norm(const nn::Module& norm, const Var& x) {  // x: [..., dim]
  if (auto* ln = dynamic_cast<const nn::LayerNorm*>(&norm)) return ln->forward(x);
  return dynamic_cast<const nn::RMSNorm&>(norm).forward(x);
}

// A Linear with zero weights (the model's parameters are loaded afterwards).
std::shared_ptr<nn::Linear> make_linear(int64_t in, int64_t out, bool bias) {
  Rng rng(0);
  auto l = std::make_shared<nn::Linear>(in, out, bias, rng);
  for (Var p : l->parameters()) p.mutable_value().fill_(0.0);
  return l;
}

// Holds child modules under fixed names (a container, like torch.nn.Module with attributes only).
class Container : public nn::Module {
 public:
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) { return add_module(name, std::move(m)); }
};

}  // namespace

// One pre-norm block; parameter names as the fused model's ("norm1.weight", "attn.qkv.weight", ...).
class AutogradGptBlock : public nn::Module {
 public:
  explicit AutogradGptBlock(const TransformerConfig& c) : c_(c) {
    norm1_ = add_module("norm1", make_norm(c));
    auto attn = add_module("attn", std::make_shared<Container>());
    qkv_ = attn->add("qkv", make_linear(c.dim, c.qkv_width(), c.bias));
    out_ = attn->add("out", make_linear(c.heads * c.head_dim(), c.dim, c.bias));
    norm2_ = add_module("norm2", make_norm(c));
    auto mlp = add_module("mlp", std::make_shared<Container>());
    up_ = mlp->add("up", make_linear(c.dim, c.up_width(), c.bias));
    down_ = mlp->add("down", make_linear(c.hidden(), c.dim, c.bias));
    attn_.heads = c.heads;
    attn_.kv_heads = c.kv_heads;
    attn_.rope = c.pos == PositionKind::rope;
    attn_.rope_spec = c.rope_spec();
  }

  // x: [B, T, dim] -> [B, T, dim]
  Var forward(const Var& x) const {
    const Var h = add(x, out_->forward(ag::fused_causal_attention(qkv_->forward(apply_norm(*norm1_, x)), attn_)));
    return add(h, down_->forward(activation(up_->forward(apply_norm(*norm2_, h)))));
  }

 private:
  Var activation(const Var& u) const {  // u: [B, T, up_width] -> [B, T, hidden]
    switch (c_.mlp) {
      case MlpKind::gelu: return ag::gelu(u, ag::GeluForm::erf);
      case MlpKind::gelu_tanh: return ag::gelu(u, ag::GeluForm::tanh);
      case MlpKind::swiglu: return ag::gated_activation(u, ag::GatedForm::silu);
      case MlpKind::geglu: return ag::gated_activation(u, ag::GatedForm::gelu);
    }
    return u;
  }

  TransformerConfig c_;
  std::shared_ptr<nn::Module> norm1_, norm2_;
  std::shared_ptr<nn::Linear> qkv_, out_, up_, down_;
  ag::FusedAttentionSpec attn_;
};

AutogradGpt::AutogradGpt(const TransformerConfig& config) : config_(config) {
  config_.validate();
  const TransformerConfig& c = config_;
  ROTOR_CHECK(c.pos != PositionKind::rope || c.rope_scaling.kind == kernels::RopeScaling::Kind::none,
              "autograd gpt: RoPE context scaling is not supported (only unscaled RoPE)");
  wte_ = add_parameter("wte", Tensor::zeros({c.vocab, c.dim}));
  if (c.pos == PositionKind::learned) wpe_ = add_parameter("wpe", Tensor::zeros({c.ctx, c.dim}));
  if (c.pos == PositionKind::sinusoidal) sinusoid_ = nn::sinusoidal_positions(c.ctx, c.dim);
  auto layers = add_module("layers", std::make_shared<Container>());
  for (int64_t l = 0; l < c.layers; ++l)
    blocks_.push_back(layers->add(std::to_string(l), std::make_shared<AutogradGptBlock>(c)));
  norm_f_ = add_module("norm_f", make_norm(c));
  if (!c.tied_head) head_ = add_module("head", make_linear(c.dim, c.vocab, false));
}

Var AutogradGpt::forward(const Tensor& ids) const {
  ROTOR_CHECK(ids.dim() == 2 && ids.size(1) >= 1 && ids.size(1) <= config_.ctx, "autograd gpt: ids must be [B, T] with ",
              "1 <= T <= ctx ", config_.ctx, ", got ", shape_str(ids.shape()));
  const int64_t T = ids.size(1);
  Var x = ag::embedding(wte_, ids);  // [B, T, dim]
  if (wpe_.defined()) x = add(x, ag::slice(wpe_, 0, 0, T));
  if (sinusoid_.defined()) x = add(x, Var(sinusoid_.slice(0, 0, T)));
  for (const auto& block : blocks_) x = block->forward(x);
  x = apply_norm(*norm_f_, x);
  return head_ ? head_->forward(x) : ag::linear(x, wte_);
}

Var AutogradGpt::loss(const Tensor& ids, const Tensor& targets) const {
  return ag::cross_entropy(forward(ids), targets);
}

void AutogradGpt::load_from(const Transformer& fused) {
  nn::StateDict state;
  for (const ParameterInfo& p : fused.parameters())
    state[p.name] = Tensor::from_vector(std::vector<float>(fused.params() + p.offset, fused.params() + p.offset + p.numel),
                                        p.shape);
  load_state_dict(state, true);
}

std::vector<Var> AutogradGpt::decayed_parameters() const {
  std::vector<Var> out;
  for (const auto& [name, v] : named_parameters())
    if (v.dim() == 2) out.push_back(v);
  return out;
}

std::vector<Var> AutogradGpt::undecayed_parameters() const {
  std::vector<Var> out;
  for (const auto& [name, v] : named_parameters())
    if (v.dim() != 2) out.push_back(v);
  return out;
}

}  // namespace rotor::models
