#include "rotor/models/autograd_gpt.h"

#include "rotor/autograd/checkpoint.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>

#include "rotor/autograd/attention.h"
#include "rotor/autograd/ops.h"
#include "rotor/io/atomic_file.h"
#include "rotor/io/safetensors.h"
#include "rotor/nn/flash.h"
#include "rotor/nn/linear_attention.h"
#include "rotor/nn/mamba.h"
#include "rotor/nn/performer.h"
#include "rotor/nn/positions.h"
#include "rotor/nn/recurrent.h"
#include "rotor/nn/relative_positions.h"
#include "rotor/nn/s4d.h"
#include "rotor/nn/sparse_attention.h"

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

constexpr struct {
  MixerKind kind;
  const char* name;
} kMixerNames[] = {{MixerKind::softmax, "softmax"}, {MixerKind::rnn, "rnn"},       {MixerKind::lstm, "lstm"},
                   {MixerKind::gru, "gru"},         {MixerKind::linear, "linear"}, {MixerKind::performer, "performer"},
                   {MixerKind::flash, "flash"},     {MixerKind::local, "local"},   {MixerKind::strided, "strided"},
                   {MixerKind::fixed, "fixed"},     {MixerKind::s4d, "s4d"},       {MixerKind::mamba, "mamba"}};

bool is_pattern(MixerKind k) { return k == MixerKind::local || k == MixerKind::strided || k == MixerKind::fixed; }

}  // namespace

MixerKind mixer_kind_from_name(const std::string& name) {
  if (name == "attention") return MixerKind::softmax;
  for (const auto& m : kMixerNames)
    if (name == m.name) return m.kind;
  throw Error(cat("unknown mixer '", name, "' (expected ", mixer_kind_names(), ")"));
}

const char* mixer_kind_name(MixerKind kind) {
  for (const auto& m : kMixerNames)
    if (kind == m.kind) return m.name;
  return "?";
}

const char* mixer_kind_names() {
  return "softmax, rnn, lstm, gru, linear, performer, flash, local, strided, fixed, s4d or mamba";
}

void MixerSpec::validate(int64_t ctx) const {
  if (kind == MixerKind::performer) {
    ROTOR_CHECK(features >= 1, "--features must be >= 1, got ", features);
    ROTOR_CHECK(redraw >= 0, "--redraw must be >= 0 (0: never), got ", redraw);
  }
  if (is_pattern(kind))
    ROTOR_CHECK(window >= 1 && window <= ctx, "--window must be between 1 and the context length (--ctx ", ctx,
                "), got ", window);
  if (kind == MixerKind::fixed)
    ROTOR_CHECK(summary >= 1 && summary <= window, "--summary must be between 1 and --window (", window, "), got ",
                summary);
  if (kind == MixerKind::s4d || kind == MixerKind::mamba) ROTOR_CHECK(state >= 1, "--state must be >= 1, got ", state);
  if (kind == MixerKind::linear || kind == MixerKind::performer || kind == MixerKind::flash || kind == MixerKind::mamba)
    ROTOR_CHECK(chunk >= 1, "--chunk must be >= 1, got ", chunk);
}

nlohmann::json mixer_to_json(const MixerSpec& m) {
  nlohmann::json j;
  j["kind"] = mixer_kind_name(m.kind);
  if (m.kind == MixerKind::performer) {
    j["features"] = m.features;
    j["redraw"] = m.redraw;
  }
  if (is_pattern(m.kind)) j["window"] = m.window;
  if (m.kind == MixerKind::fixed) j["summary"] = m.summary;
  if (m.kind == MixerKind::s4d || m.kind == MixerKind::mamba) j["state"] = m.state;
  if (m.kind == MixerKind::linear || m.kind == MixerKind::performer || m.kind == MixerKind::flash ||
      m.kind == MixerKind::mamba)
    j["chunk"] = m.chunk;
  return j;
}

MixerSpec mixer_from_json(const nlohmann::json& j, const std::string& where) {
  ROTOR_CHECK(j.is_object() && j.contains("kind") && j["kind"].is_string(), where,
              ": 'mixer' must be an object with a string 'kind'");
  MixerSpec m;
  try {
    m.kind = mixer_kind_from_name(j["kind"].get<std::string>());
  } catch (const Error& e) {
    throw Error(cat(where, ": ", e.what()));
  }
  const std::pair<const char*, int64_t*> fields[] = {{"features", &m.features}, {"redraw", &m.redraw},
                                                     {"window", &m.window},     {"summary", &m.summary},
                                                     {"state", &m.state},       {"chunk", &m.chunk}};
  const nlohmann::json expected = mixer_to_json(m);
  for (auto it = j.begin(); it != j.end(); ++it) {
    ROTOR_CHECK(expected.contains(it.key()), where, ": mixer key '", it.key(), "' does not apply to the ",
                mixer_kind_name(m.kind), " mixer");
    if (it.key() == "kind") continue;
    ROTOR_CHECK(it.value().is_number_integer(), where, ": mixer key '", it.key(), "' must be an integer, got ",
                it.value().dump());
    for (const auto& [name, field] : fields)
      if (it.key() == name) *field = it.value().get<int64_t>();
  }
  return m;
}

// The state one block's mixer carries from token to token (only the member of its kind is used).
struct AutogradGptBlockState {
  Var k, v;  // softmax attention with relative biases: [B, H, t, Dh] keys and values so far
  nn::RecurrentState recurrent;
  nn::LinearAttentionState linear;
  nn::FlashState flash;
  nn::PatternAttentionState pattern;
  nn::S4DState s4d;
  nn::MambaState mamba;
};

// One pre-norm block; parameter names as the fused model's ("norm1.weight", "attn.qkv.weight", ...).
class AutogradGptBlock : public nn::Module {
 public:
  AutogradGptBlock(const TransformerConfig& c, const MixerSpec& m, Rng& rng) : c_(c), kind_(m.kind) {
    norm1_ = add_module("norm1", make_norm(c));
    if (m.kind == MixerKind::softmax) {
      ROTOR_CHECK(!relative() || (c.kv_heads == c.heads && c.head_dim() * c.heads == c.dim), "--pos ",
                  position_kind_name(c.pos), ": needs kv_heads == heads and heads x head_dim == dim");
      auto attn = add_module("attn", std::make_shared<Container>());
      qkv_ = attn->add("qkv", make_linear(c.dim, c.qkv_width(), c.bias));
      out_ = attn->add("out", make_linear(c.heads * c.head_dim(), c.dim, c.bias));
    } else {
      build_mixer(m, rng);
    }
    norm2_ = add_module("norm2", make_norm(c));
    auto mlp = add_module("mlp", std::make_shared<Container>());
    up_ = mlp->add("up", make_linear(c.dim, c.up_width(), c.bias));
    down_ = mlp->add("down", make_linear(c.hidden(), c.dim, c.bias));
    attn_.heads = c.heads;
    attn_.kv_heads = c.kv_heads;
    attn_.rope = c.pos == PositionKind::rope;
    attn_.rope_spec = c.rope_spec();
  }

  // x: [B, T, dim] -> [B, T, dim]; bias: [H, T, T] relative position bias (t5, alibi) or undefined
  Var forward(const Var& x, const Var& bias) const {
    const Var h = add(x, mix(apply_norm(*norm1_, x), bias));
    return add(h, mlp(h));
  }
  // One token, x: [B, dim] -> [B, dim], advancing `state`; bias: [H, 1, t + 1] or undefined.
  Var step(const Var& x, AutogradGptBlockState& state, const Var& bias) const {
    const Var h = add(x, mix_step(apply_norm(*norm1_, x), state, bias));
    return add(h, mlp(h));
  }
  nn::Performer* performer() const { return performer_.get(); }
  // Softmax attention over every position (no causal mask): the encoder of `rotor train --objective mlm`.
  void set_bidirectional(bool on) { bidirectional_ = on; }

 private:
  Var mlp(const Var& h) const { return down_->forward(activation(up_->forward(apply_norm(*norm2_, h)))); }

  void build_mixer(const MixerSpec& m, Rng& rng) {
    ROTOR_CHECK(c_.pos != PositionKind::rope || m.kind == MixerKind::linear, "--pos rope applies to the softmax "
                "and linear mixers only, not ", mixer_kind_name(m.kind), " (use --pos learned, sinusoidal or none)");
    ROTOR_CHECK(!relative(), "--pos ", position_kind_name(c_.pos), " applies to the softmax mixer only, not ",
                mixer_kind_name(m.kind));
    m.validate(c_.ctx);
    switch (m.kind) {
      case MixerKind::rnn:
      case MixerKind::lstm:
      case MixerKind::gru:
        recurrent_ = add_module("mixer", std::make_shared<nn::Recurrent>(
                                             nn::recurrent_cell_from_name(mixer_kind_name(m.kind)), c_.dim, c_.dim, 1,
                                             true, rng));
        break;
      case MixerKind::linear: {
        nn::LinearAttentionOptions o;
        o.rope = c_.pos == PositionKind::rope;
        o.rope_theta = c_.rope_theta;
        linear_ = add_module("mixer", std::make_shared<nn::LinearAttention>(c_.dim, c_.heads, o, rng, m.chunk));
        break;
      }
      case MixerKind::performer:
        performer_ = add_module("mixer", std::make_shared<nn::Performer>(c_.dim, c_.heads, m.features, rng, m.chunk));
        break;
      case MixerKind::flash: {
        nn::FlashOptions o;
        o.qk_dim = std::min<int64_t>(128, c_.dim);
        o.chunk = m.chunk;
        o.norm_length = c_.ctx;
        flash_ = add_module("mixer", std::make_shared<nn::FlashAttention>(c_.dim, o, rng));
        break;
      }
      case MixerKind::local:
      case MixerKind::strided:
      case MixerKind::fixed: {
        nn::AttentionPattern p;
        p.kind = m.kind == MixerKind::local     ? nn::AttentionPattern::Kind::local
                 : m.kind == MixerKind::strided ? nn::AttentionPattern::Kind::strided
                                                : nn::AttentionPattern::Kind::fixed;
        p.size = m.window;
        p.summary = m.summary;
        sparse_ = add_module("mixer", std::make_shared<nn::SparseAttention>(c_.dim, c_.heads, p, rng));
        break;
      }
      case MixerKind::s4d: {
        auto mixer = add_module("mixer", std::make_shared<Container>());
        s4d_ = mixer->add("ssm", std::make_shared<nn::S4D>(c_.dim, m.state, rng));
        s4d_out_ = mixer->add("out", std::make_shared<nn::Linear>(c_.dim, c_.dim, true, rng));
        break;
      }
      case MixerKind::mamba: {
        nn::MambaOptions o;
        o.d_state = m.state;
        o.chunk = m.chunk;
        mamba_ = add_module("mixer", std::make_shared<nn::MambaBlock>(c_.dim, o, rng));
        break;
      }
      case MixerKind::softmax: break;
    }
  }

  bool relative() const { return c_.pos == PositionKind::t5 || c_.pos == PositionKind::alibi; }

  // The fused projection's q, k, v of u [B, T, dim], each [B, H, T, Dh].
  std::array<Var, 3> heads(const Var& u) const {
    const int64_t B = u.size(0), T = u.size(1), H = c_.heads, Dh = c_.head_dim();
    const Var qkv = qkv_->forward(u);  // [B, T, 3 H Dh]
    std::array<Var, 3> out;
    for (int64_t i = 0; i < 3; ++i)
      out[i] = ag::transpose(ag::reshape(ag::narrow(qkv, 2, i * H * Dh, H * Dh), {B, T, H, Dh}), 1, 2);
    return out;
  }
  Var merge(const Var& y) const {  // [B, H, T, Dh] -> [B, T, dim] through the output projection
    return out_->forward(ag::reshape(ag::transpose(y, 1, 2), {y.size(0), y.size(2), c_.heads * c_.head_dim()}));
  }

  // u: [B, T, dim] (normalised) -> [B, T, dim]
  Var mix(const Var& u, const Var& bias) const {
    switch (kind_) {
      case MixerKind::softmax:
        if (bidirectional_) {
          const auto [q, k, v] = heads(u);  // [B, H, T, Dh] each
          return merge(ag::scaled_dot_product_attention(q, k, v));
        }
        if (relative()) {
          const auto [q, k, v] = heads(u);
          return merge(nn::biased_causal_attention(q, k, v, bias));
        }
        return out_->forward(ag::fused_causal_attention(qkv_->forward(u), attn_));
      case MixerKind::rnn:
      case MixerKind::lstm:
      case MixerKind::gru: return recurrent_->forward(u);
      case MixerKind::linear: return linear_->forward(u);
      case MixerKind::performer: return performer_->forward(u);
      case MixerKind::flash: return flash_->forward(u);
      case MixerKind::local:
      case MixerKind::strided:
      case MixerKind::fixed: return sparse_->forward(u);
      case MixerKind::s4d: return s4d_out_->forward(ag::gelu(s4d_->forward(u), ag::GeluForm::erf));
      case MixerKind::mamba: return mamba_->forward(u);
    }
    return u;
  }

  // u: [B, dim] -> [B, dim]
  Var mix_step(const Var& u, AutogradGptBlockState& s, const Var& bias) const {
    switch (kind_) {
      case MixerKind::softmax: {
        if (!relative()) break;
        const auto [q, k, v] = heads(ag::unsqueeze(u, 1));  // [B, H, 1, Dh]
        s.k = s.k.defined() ? ag::cat({s.k, k}, 2) : k;
        s.v = s.v.defined() ? ag::cat({s.v, v}, 2) : v;
        return ag::squeeze(merge(nn::biased_causal_attention(q, s.k, s.v, bias)), 1);
      }
      case MixerKind::rnn:
      case MixerKind::lstm:
      case MixerKind::gru: return recurrent_->step(u, s.recurrent);
      case MixerKind::linear: return linear_->step(u, s.linear);
      case MixerKind::performer: return performer_->step(u, s.linear);
      case MixerKind::flash: return flash_->step(u, s.flash);
      case MixerKind::local:
      case MixerKind::strided:
      case MixerKind::fixed: return sparse_->step(u, s.pattern);
      case MixerKind::s4d: return s4d_out_->forward(ag::gelu(s4d_->step(u, s.s4d), ag::GeluForm::erf));
      case MixerKind::mamba: return mamba_->step(u, s.mamba);
    }
    throw Error("autograd gpt: the softmax mixer with rope/learned/sinusoidal/no positions has no single-token "
                "decode path here (the fused model decodes it)");
  }

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
  MixerKind kind_;
  bool bidirectional_ = false;
  std::shared_ptr<nn::Recurrent> recurrent_;
  std::shared_ptr<nn::LinearAttention> linear_;
  std::shared_ptr<nn::Performer> performer_;
  std::shared_ptr<nn::FlashAttention> flash_;
  std::shared_ptr<nn::SparseAttention> sparse_;
  std::shared_ptr<nn::S4D> s4d_;
  std::shared_ptr<nn::Linear> s4d_out_;
  std::shared_ptr<nn::MambaBlock> mamba_;
  std::shared_ptr<nn::Module> norm1_, norm2_;
  std::shared_ptr<nn::Linear> qkv_, out_, up_, down_;
  ag::FusedAttentionSpec attn_;
};

AutogradGpt::AutogradGpt(const TransformerConfig& config) : config_(config) {
  Rng unused(0);
  build(unused);
}

AutogradGpt::AutogradGpt(const TransformerConfig& config, const MixerSpec& mixer, Rng& rng)
    : config_(config), mixer_(mixer) {
  build(rng);
}

AutogradGpt::~AutogradGpt() = default;

void AutogradGpt::build(Rng& rng) {
  config_.validate();
  const TransformerConfig& c = config_;
  ROTOR_CHECK(c.pos != PositionKind::rope || c.rope_scaling.kind == kernels::RopeScaling::Kind::none,
              "autograd gpt: RoPE context scaling is not supported (only unscaled RoPE)");
  wte_ = add_parameter("wte", Tensor::zeros({c.vocab, c.dim}));
  if (c.pos == PositionKind::learned) wpe_ = add_parameter("wpe", Tensor::zeros({c.ctx, c.dim}));
  if (c.pos == PositionKind::sinusoidal) sinusoid_ = nn::sinusoidal_positions(c.ctx, c.dim);
  if (c.pos == PositionKind::t5)  // T5's defaults: 32 causal buckets up to distance 128, shared by the layers
    rel_bias_ = add_module("rel_bias", std::make_shared<nn::T5RelativeBias>(c.heads, 32, 128, false, rng,
                                                                            1.0 / std::sqrt(double(c.dim))));
  auto layers = add_module("layers", std::make_shared<Container>());
  for (int64_t l = 0; l < c.layers; ++l)
    blocks_.push_back(layers->add(std::to_string(l), std::make_shared<AutogradGptBlock>(c, mixer_, rng)));
  norm_f_ = add_module("norm_f", make_norm(c));
  if (!c.tied_head) head_ = add_module("head", make_linear(c.dim, c.vocab, false));
}

void AutogradGpt::set_bidirectional(bool on) {
  const TransformerConfig& c = config_;
  ROTOR_CHECK(!on || mixer_.kind == MixerKind::softmax, "bidirectional encoder: needs the softmax mixer, not ",
              mixer_kind_name(mixer_.kind));
  ROTOR_CHECK(!on || c.pos == PositionKind::learned || c.pos == PositionKind::sinusoidal || c.pos == PositionKind::none,
              "bidirectional encoder: --pos ", position_kind_name(c.pos),
              " is not supported (use learned, sinusoidal or none)");
  ROTOR_CHECK(!on || (c.kv_heads == c.heads && c.head_dim() * c.heads == c.dim),
              "bidirectional encoder: needs kv_heads == heads and heads x head_dim == dim");
  bidirectional_ = on;
  for (const auto& block : blocks_) block->set_bidirectional(on);
}

void AutogradGpt::set_checkpoint_every(int64_t every) {
  ROTOR_CHECK(every >= 0, "autograd gpt: checkpoint interval ", every, " must be >= 0 blocks");
  checkpoint_every_ = every;
}

Var AutogradGpt::forward(const Tensor& ids) const {
  const Var x = hidden(ids);
  return head_ ? head_->forward(x) : ag::linear(x, wte_);
}

Var AutogradGpt::hidden(const Tensor& ids) const {
  ROTOR_CHECK(ids.dim() == 2 && ids.size(1) >= 1 && ids.size(1) <= config_.ctx, "autograd gpt: ids must be [B, T] with ",
              "1 <= T <= ctx ", config_.ctx, ", got ", shape_str(ids.shape()));
  const int64_t T = ids.size(1);
  Var x = ag::embedding(wte_, ids);  // [B, T, dim]
  if (wpe_.defined()) x = add(x, ag::slice(wpe_, 0, 0, T));
  if (sinusoid_.defined()) x = add(x, Var(sinusoid_.slice(0, 0, T)));
  const Var bias = position_bias(T, T, 0);
  const size_t n = blocks_.size(), K = size_t(checkpoint_every_);
  if (K == 0) {
    for (const auto& block : blocks_) x = block->forward(x, bias);
  } else {
    // a relative-position bias (T5's learned table) is an input of every segment, so its gradient
    // leaves each checkpoint node like x's
    for (size_t s = 0; s < n; s += K) {
      std::vector<Var> inputs = {x};
      if (bias.defined()) inputs.push_back(bias);
      x = ag::checkpoint(
          [this, s, e = std::min(n, s + K)](const std::vector<Var>& in) {
            Var y = in[0];
            const Var b = in.size() > 1 ? in[1] : Var();
            for (size_t l = s; l < e; ++l) y = blocks_[l]->forward(y, b);
            return y;
          },
          inputs);
    }
  }
  return apply_norm(*norm_f_, x);
}

Var AutogradGpt::position_bias(int64_t tq, int64_t tk, int64_t offset) const {
  if (rel_bias_) return rel_bias_->forward(tq, tk, offset);
  if (config_.pos == PositionKind::alibi) return Var(nn::alibi_bias(config_.heads, tq, tk, offset));
  return Var();
}

Var AutogradGpt::loss(const Tensor& ids, const Tensor& targets) const {
  return ag::cross_entropy(forward(ids), targets);
}

void AutogradGpt::load_from(const Transformer& fused) {
  nn::StateDict state;
  for (const ParameterInfo& p : fused.parameters())
    state[p.name] = Tensor::from_vector(std::vector<float>(fused.params() + p.offset, fused.params() + p.offset + p.numel),
                                        p.shape);
  load_state_dict(state, mixer_.kind == MixerKind::softmax);
}

void AutogradGpt::init_from(const Transformer& fused) {
  nn::StateDict state;
  const auto own = named_parameters();
  for (const ParameterInfo& p : fused.parameters()) {
    const bool here = std::any_of(own.begin(), own.end(), [&](const auto& np) { return np.first == p.name; });
    if (here)
      state[p.name] = Tensor::from_vector(
          std::vector<float>(fused.params() + p.offset, fused.params() + p.offset + p.numel), p.shape);
  }
  load_state_dict(state, false);
}

std::map<std::string, Tensor> AutogradGpt::buffers() const {
  std::map<std::string, Tensor> out;
  for (size_t l = 0; l < blocks_.size(); ++l)
    if (const nn::Performer* p = blocks_[l]->performer())
      out["layers." + std::to_string(l) + ".mixer.projection"] = p->projection();
  return out;
}

void AutogradGpt::load_buffers(const std::map<std::string, Tensor>& buffers) {
  const std::map<std::string, Tensor> own = this->buffers();
  for (const auto& [name, t] : buffers) ROTOR_CHECK(own.count(name), "unexpected buffer '", name, "'");
  for (size_t l = 0; l < blocks_.size(); ++l)
    if (nn::Performer* p = blocks_[l]->performer()) {
      const std::string name = "layers." + std::to_string(l) + ".mixer.projection";
      auto it = buffers.find(name);
      ROTOR_CHECK(it != buffers.end(), "missing buffer '", name, "'");
      p->set_projection(it->second);
    }
}

void AutogradGpt::redraw(Rng& rng) {
  for (const auto& block : blocks_)
    if (nn::Performer* p = block->performer()) p->redraw(rng);
}

namespace {
// Matrices and embeddings get weight decay; vectors, and the state-space models' eigenvalue parameters
// (Mamba's A_log, S4D's log_A_real and A_imag, [channels, N] but not weights), do not.
bool decayed(const std::string& name, const Var& v) {
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return v.dim() == 2 && !ends_with("A_log") && !ends_with("log_A_real") && !ends_with("A_imag");
}
}  // namespace

std::vector<Var> AutogradGpt::decayed_parameters() const {
  std::vector<Var> out;
  for (const auto& [name, v] : named_parameters())
    if (decayed(name, v)) out.push_back(v);
  return out;
}

std::vector<Var> AutogradGpt::undecayed_parameters() const {
  std::vector<Var> out;
  for (const auto& [name, v] : named_parameters())
    if (!decayed(name, v)) out.push_back(v);
  return out;
}

// ------------------------------------------------------------------------------------ decoding

AutogradGpt::Decoder::Decoder(const AutogradGpt& model) : m_(model) {
  ROTOR_CHECK(!model.bidirectional_, "autograd gpt: a bidirectional (masked-LM) encoder does not generate text; "
              "use it with `rotor finetune`");
  const PositionKind pos = model.config_.pos;
  ROTOR_CHECK(model.mixer_.kind != MixerKind::softmax || pos == PositionKind::t5 || pos == PositionKind::alibi,
              "autograd gpt: the softmax mixer with ", position_kind_name(pos),
              " positions decodes through the fused model, not this decoder");
  reset();
}

AutogradGpt::Decoder::~Decoder() = default;

void AutogradGpt::Decoder::reset() {
  pos_ = 0;
  states_.clear();
  for (size_t l = 0; l < m_.blocks_.size(); ++l) states_.push_back(std::make_unique<AutogradGptBlockState>());
}

const float* AutogradGpt::Decoder::step(int32_t token) {
  const TransformerConfig& c = m_.config_;
  ROTOR_CHECK(token >= 0 && token < c.vocab, "decoder: token ", token, " is outside the vocabulary (", c.vocab, ")");
  ROTOR_CHECK(pos_ < c.ctx || (!m_.wpe_.defined() && !m_.sinusoid_.defined()), "decoder: position ", pos_,
              " is past the context (", c.ctx, ") of the absolute position table");
  ag::NoGradGuard no_grad;
  Var x = ag::embedding(m_.wte_, Tensor::from_vector(std::vector<int64_t>{token}, {1}));  // [1, dim]
  if (m_.wpe_.defined()) x = add(x, ag::slice(m_.wpe_, 0, pos_, pos_ + 1));
  if (m_.sinusoid_.defined()) x = add(x, Var(m_.sinusoid_.slice(0, pos_, pos_ + 1)));
  const Var bias = m_.position_bias(1, pos_ + 1, pos_);
  for (size_t l = 0; l < m_.blocks_.size(); ++l) x = m_.blocks_[l]->step(x, *states_[l], bias);
  x = apply_norm(*m_.norm_f_, x);
  const Tensor logits = (m_.head_ ? m_.head_->forward(x) : ag::linear(x, m_.wte_)).value().contiguous();  // [1, V]
  logits_.assign(logits.data<float>(), logits.data<float>() + c.vocab);
  ++pos_;
  return logits_.data();
}

// ------------------------------------------------------------------------------------ run directories

namespace {
nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(io::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat(path, ": invalid JSON: ", e.what()));
  }
}
}  // namespace

bool is_mixer_run(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!std::filesystem::is_regular_file(path)) return false;
  try {
    const nlohmann::json j = read_json(path);
    return j.is_object() && j.contains("mixer");
  } catch (const Error&) {
    return false;  // the fused model's loader reports it
  }
}

nlohmann::json autograd_gpt_config(const AutogradGpt& model) {
  nlohmann::json config = config_to_json(model.config());
  config["mixer"] = mixer_to_json(model.mixer());
  if (model.bidirectional()) config["encoder"] = true;
  return config;
}

io::Checkpoint autograd_gpt_checkpoint(const AutogradGpt& model) {
  io::Checkpoint run;
  run.config = autograd_gpt_config(model);
  for (const auto& [name, v] : model.named_parameters()) run.model[name] = v.value().contiguous();
  for (const auto& [name, t] : model.buffers()) run.model[name] = t.contiguous();
  return run;
}

void save_autograd_gpt(const AutogradGpt& model, const std::string& dir) {
  io::save_checkpoint(dir, autograd_gpt_checkpoint(model));
}

MixerRunConfig mixer_run_config(nlohmann::json j, const std::string& where) {
  ROTOR_CHECK(j.is_object() && j.contains("mixer"), where, ": not a mixer model (no 'mixer' key)");
  MixerRunConfig out;
  out.mixer = mixer_from_json(j["mixer"], where);
  j.erase("mixer");
  const bool encoder = j.contains("encoder");
  ROTOR_CHECK(!encoder || j["encoder"].is_boolean(), where, ": 'encoder' must be true or false");
  out.bidirectional = encoder && j["encoder"].get<bool>();
  j.erase("encoder");
  out.config = config_from_json(j, where);
  return out;
}

void load_autograd_gpt_tensors(AutogradGpt& model, io::TensorMap tensors, const std::string& where) {
  std::map<std::string, Tensor> buffers;
  for (const auto& [name, t] : model.buffers()) {
    auto it = tensors.find(name);
    if (it == tensors.end()) continue;
    buffers[name] = it->second;
    tensors.erase(it);
  }
  for (auto& [name, t] : tensors)
    ROTOR_CHECK(t.dtype() == DType::f32, where, ": tensor '", name, "' has dtype ", dtype_name(t.dtype()),
                ", expected f32");
  try {
    model.load_state_dict(nn::StateDict(tensors.begin(), tensors.end()), true);
    model.load_buffers(buffers);
  } catch (const Error& e) {
    throw Error(cat(where, ": ", e.what()));
  }
}

std::unique_ptr<AutogradGpt> load_autograd_gpt(const std::string& dir) {
  const std::string config_path = dir + "/config.json", model_path = dir + "/model.safetensors";
  const MixerRunConfig run = mixer_run_config(read_json(config_path), config_path);
  Rng rng(0);
  std::unique_ptr<AutogradGpt> model;
  try {
    model = std::make_unique<AutogradGpt>(run.config, run.mixer, rng);
    model->set_bidirectional(run.bidirectional);
  } catch (const Error& e) {
    throw Error(cat(config_path, ": ", e.what()));
  }
  load_autograd_gpt_tensors(*model, io::load_safetensors(model_path), model_path);
  return model;
}

}  // namespace rotor::models
