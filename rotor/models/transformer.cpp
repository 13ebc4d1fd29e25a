#include "rotor/models/transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/kernels/activations.h"
#include "rotor/kernels/bf16_convert.h"
#include "rotor/kernels/cross_entropy.h"
#include "rotor/kernels/embedding.h"
#include "rotor/kernels/layernorm.h"
#include "rotor/kernels/linear.h"
#include "rotor/kernels/position_encoding.h"

namespace rotor::models {

using namespace rotor::kernels;

Precision precision_from_name(const std::string& s) {
  if (s == "f32") return Precision::f32;
  if (s == "bf16") return Precision::bf16;
  throw Error(cat("unknown dtype '", s, "' (expected f32 or bf16)"));
}

// Every activation of one (B, T) shape, carved from one allocation. Per layer l:
// With checkpointing every K blocks the per-layer pointers of layer l point at slot l % K of K slots
// (res[l] only when l is not a multiple of K; res[0], res[K], ... and res[L] are kept).
struct Transformer::Activations {
  int64_t B = 0, T = 0;
  int64_t every = 0;  // checkpoint_every_ the layout was made for
  Precision precision = Precision::f32;  // the layout below depends on it
  std::vector<float> arena;
  std::vector<bf16> arena16;
  std::vector<float*> res;          // [L+1] x [B, T, C] residual stream entering each block (res[L] leaves the last)
  std::vector<float*> res_mid;      // [L] x [B, T, C] after the attention half
  std::vector<float*> norm1, norm2; // [L] x [B, T, C]
  std::vector<float*> mean1, rstd1, mean2, rstd2;  // [L] x [B, T]
  std::vector<float*> qkv;          // [L] x [B, T, (H + 2KV) Dh]
  std::vector<float*> probs;        // [L] x [B, H, T, T]
  std::vector<float*> atty;         // [L] x [B, T, H Dh]
  std::vector<float*> up;           // [L] x [B, T, F] (F = hidden, or 2 hidden when gated)
  std::vector<float*> act;          // [L] x [B, T, hidden]
  std::vector<float*> act_grad;     // [L] x [B, T, hidden] derivative of the (ungated) activation
  // bf16 precision, ungated MLP: the up projection's output and the activation's derivative in bf16
  std::vector<bf16*> up_16;  // [L] x [B, T, hidden] the MLP pre-activation (bf16 precision)
  bf16* d_act_16 = nullptr;               // [B, T, hidden]
  bf16* d_atty_16 = nullptr;              // [B, T, H Dh] (bf16 precision) the attention output's gradient
  bf16* d_norm_16 = nullptr;              // [B, T, C] (bf16 precision) a norm's output gradient
  float *normf, *meanf, *rstdf, *logits;  // [B, T, C], [B, T], [B, T], [B, T, V]
  // scratch shared by all layers
  float *tmp, *d_res, *d_norm, *d_atty, *d_up, *d_act, *d_probs, *d_qkv;
  // bf16 copies of the matmul inputs (bf16 precision only)
  std::vector<bf16*> norm1_16, atty_16, norm2_16, act_16;
  std::vector<bf16*> attn_saved;    // [L] x attention_saved_elements: bf16 qkv and probs kept for backward
  bf16 *normf_16, *dout_16;
  void* attn_workspace = nullptr;
};

Transformer::Transformer(const TransformerConfig& config) : config_(config) {
  config_.validate();
  ROTOR_CHECK(config_.pos != PositionKind::t5 && config_.pos != PositionKind::alibi, "the fused transformer has no ",
              position_kind_name(config_.pos), " positions (AutogradGpt has: rotor train --pos t5|alibi)");
  const TransformerConfig& c = config_;
  const int64_t C = c.dim, Dh = c.head_dim(), W = c.qkv_width(), Hd = c.hidden(), F = c.up_width();
  int64_t offset = 0;
  auto add = [&](const std::string& name, Shape shape, bool decay) {
    ParameterInfo p{name, shape, offset, shape_numel(shape), decay};
    offset += p.numel;
    infos_.push_back(p);
  };
  const bool ln = c.norm == NormKind::layernorm;
  add("wte", {c.vocab, C}, true);
  if (c.pos == PositionKind::learned) add("wpe", {c.ctx, C}, true);
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    add(p + "norm1.weight", {C}, false);
    if (ln) add(p + "norm1.bias", {C}, false);
    add(p + "attn.qkv.weight", {W, C}, true);
    if (c.bias) add(p + "attn.qkv.bias", {W}, false);
    add(p + "attn.out.weight", {C, c.heads * Dh}, true);
    if (c.bias) add(p + "attn.out.bias", {C}, false);
    add(p + "norm2.weight", {C}, false);
    if (ln) add(p + "norm2.bias", {C}, false);
    add(p + "mlp.up.weight", {F, C}, true);
    if (c.bias) add(p + "mlp.up.bias", {F}, false);
    add(p + "mlp.down.weight", {C, Hd}, true);
    if (c.bias) add(p + "mlp.down.bias", {C}, false);
  }
  add("norm_f.weight", {C}, false);
  if (ln) add("norm_f.bias", {C}, false);
  if (!c.tied_head) add("head.weight", {c.vocab, C}, true);
  params_.assign(offset, 0.0f);
  grads_.assign(offset, 0.0f);
  if (c.pos == PositionKind::rope) rope_ = make_rope_table<float>(c.rope_spec(), c.ctx);
  if (c.pos == PositionKind::sinusoidal) {
    sinusoid_.resize(c.ctx * C);
    sinusoidal_table<float>(sinusoid_.data(), c.ctx, C);
  }
}

Transformer::~Transformer() = default;

const ParameterInfo& Transformer::parameter(const std::string& name) const {
  for (const auto& p : infos_)
    if (p.name == name) return p;
  throw Error(cat("transformer: no parameter named '", name, "'"));
}

const float* Transformer::param(const std::string& name) const { return params_.data() + parameter(name).offset; }

Transformer::LayerParams Transformer::layer(int64_t l) const {
  const std::string p = "layers." + std::to_string(l) + ".";
  auto off = [&](const std::string& n) -> int64_t {
    for (const auto& i : infos_)
      if (i.name == p + n) return i.offset;
    return -1;
  };
  return {off("norm1.weight"), off("norm1.bias"), off("attn.qkv.weight"), off("attn.qkv.bias"),
          off("attn.out.weight"), off("attn.out.bias"), off("norm2.weight"), off("norm2.bias"),
          off("mlp.up.weight"), off("mlp.up.bias"), off("mlp.down.weight"), off("mlp.down.bias")};
}

void Transformer::init_parameters(Rng& rng, Init scheme) {
  weights16_current_ = false;
  const double std_out = 0.02 / std::sqrt(2.0 * double(config_.layers));
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (const auto& p : infos_) {
    float* w = params_.data() + p.offset;
    const bool is_norm = p.name.find("norm") != std::string::npos;
    const bool is_bias = ends_with(p.name, ".bias");
    const bool is_embedding = p.name == "wte" || p.name == "wpe";
    if (is_norm) {
      for (int64_t i = 0; i < p.numel; ++i) w[i] = is_bias ? 0.0f : 1.0f;
    } else if (scheme == Init::torch) {
      if (is_embedding) {
        for (int64_t i = 0; i < p.numel; ++i) w[i] = float(rng.normal());
      } else {
        // fan_in of a linear layer: the weight's second dimension (the bias shares its layer's)
        const std::string weight_name = is_bias ? p.name.substr(0, p.name.size() - 5) + ".weight" : p.name;
        const double bound = 1.0 / std::sqrt(double(parameter(weight_name).shape[1]));
        for (int64_t i = 0; i < p.numel; ++i) w[i] = float((2.0 * rng.uniform() - 1.0) * bound);
      }
    } else if (is_bias) {
      for (int64_t i = 0; i < p.numel; ++i) w[i] = 0.0f;
    } else {
      const bool residual_out = ends_with(p.name, "attn.out.weight") || ends_with(p.name, "mlp.down.weight");
      const double sd = residual_out ? std_out : 0.02;
      for (int64_t i = 0; i < p.numel; ++i) w[i] = float(rng.normal() * sd);
    }
  }
}

void Transformer::set_checkpoint_every(int64_t every) {
  ROTOR_CHECK(every >= 0, "transformer: checkpoint interval ", every, " must be >= 0 blocks");
  checkpoint_every_ = every;
}

void Transformer::zero_grad() { std::memset(grads_.data(), 0, sizeof(float) * grads_.size()); }

void Transformer::reserve(int64_t B, int64_t T) {
  ROTOR_CHECK(B >= 1 && T >= 1, "transformer: batch ", B, " and length ", T, " must be >= 1");
  ROTOR_CHECK(T <= config_.ctx, "transformer: sequence length ", T, " exceeds the context of ", config_.ctx);
  if (acts_ && acts_->B >= B && acts_->T >= T && acts_->every == checkpoint_every_) return;
  const TransformerConfig& c = config_;
  const int64_t L = c.layers, C = c.dim, H = c.heads, KV = c.kv_heads, Dh = c.head_dim(), V = c.vocab;
  const int64_t W = c.qkv_width(), Hd = c.hidden(), F = c.up_width(), BT = B * T;
  auto a = std::make_unique<Activations>();
  a->B = B;
  a->T = T;
  a->precision = precision_;
  a->every = checkpoint_every_;
  const int64_t K = checkpoint_every_ > 0 ? std::min(checkpoint_every_, L) : 0;
  const bool mlp16 = precision_ == Precision::bf16 && !c.gated();  // up and its derivative kept in bf16
  // first pass counts, second pass assigns
  for (int pass = 0; pass < 2; ++pass) {
    int64_t used = 0, used16 = 0;
    auto take = [&](int64_t n) -> float* {
      float* p = pass ? a->arena.data() + used : nullptr;
      used += (n + 15) / 16 * 16;
      return p;
    };
    auto take16 = [&](int64_t n) -> bf16* {
      bf16* p = pass ? a->arena16.data() + used16 : nullptr;
      used16 += (n + 31) / 32 * 32;
      return p;
    };
    // count layers' buffers (count = L or L + 1); with checkpointing, layers share K slots, except for the
    // `kept` ones (segment inputs of the residual stream)
    auto per_layer = [&](std::vector<float*>& v, int64_t n, int64_t count, bool keep_segment_inputs = false) {
      v.resize(count);
      std::vector<float*> slots(K);
      for (auto& p : slots) p = K ? take(n) : nullptr;
      for (int64_t l = 0; l < count; ++l) {
        const bool kept = K == 0 || (keep_segment_inputs && (l % K == 0 || l == L));
        v[l] = kept ? take(n) : slots[l % K];
      }
    };
    per_layer(a->res, BT * C, L + 1, true);
    per_layer(a->res_mid, BT * C, L);
    per_layer(a->norm1, BT * C, L);
    per_layer(a->norm2, BT * C, L);
    per_layer(a->mean1, BT, L);
    per_layer(a->rstd1, BT, L);
    per_layer(a->mean2, BT, L);
    per_layer(a->rstd2, BT, L);
    per_layer(a->qkv, precision_ == Precision::bf16 ? 0 : BT * W, L);  // bf16: the attention's saved copy
    per_layer(a->probs, B * H * T * T, L);
    per_layer(a->atty, BT * H * Dh, L);
    per_layer(a->up, mlp16 ? 0 : BT * F, L);
    per_layer(a->act, BT * Hd, L);
    per_layer(a->act_grad, c.gated() || mlp16 ? 0 : BT * Hd, L);
    a->normf = take(BT * C);
    a->meanf = take(BT);
    a->rstdf = take(BT);
    a->logits = take(BT * V);
    a->tmp = take(BT * C);
    a->d_res = take(BT * C);
    a->d_norm = take(BT * C);
    a->d_atty = take(BT * H * Dh);
    a->d_up = take(BT * F);
    a->d_act = take(BT * Hd);
    a->d_probs = take(B * H * T * T);
    a->d_qkv = take(BT * W);
    if (precision_ == Precision::bf16 || pass == 0) {
      auto per_layer16 = [&](std::vector<bf16*>& v, int64_t n) {
        v.resize(L);
        std::vector<bf16*> slots(K);
        for (auto& p : slots) p = take16(n);
        for (int64_t l = 0; l < L; ++l) v[l] = K ? slots[l % K] : take16(n);
      };
      per_layer16(a->norm1_16, BT * C);
      per_layer16(a->atty_16, BT * H * Dh);
      per_layer16(a->norm2_16, BT * C);
      per_layer16(a->act_16, BT * Hd);
      per_layer16(a->up_16, c.gated() ? 0 : BT * Hd);
      a->d_act_16 = take16(BT * Hd);
      a->d_atty_16 = take16(BT * H * Dh);
      a->d_norm_16 = take16(BT * C);
      per_layer16(a->attn_saved, attention_saved_elements({B, T, H, KV, Dh}));
      a->normf_16 = take16(BT * C);
      a->dout_16 = take16(BT * std::max<int64_t>({W, F, V, C, Hd}));
      bf16* ws = take16(int64_t(attention_workspace_bytes({B, T, H, KV, Dh})) / 2 + 32);
      a->attn_workspace = ws;
    }
    if (pass == 0) {
      a->arena.assign(used, 0.0f);
      a->arena16.assign(precision_ == Precision::bf16 ? used16 : 0, bf16{});
    }
  }
  acts_ = std::move(a);
}

// ------------------------------------------------------------------------------------ layer helpers

void Transformer::norm_forward(float* out, bf16* out16, float* mean, float* rstd, const float* inp, const float* w,
                               const float* b, int64_t N, const float* residual, float* sum_out) const {
  const bool ln = config_.norm == NormKind::layernorm;
  const int64_t C = config_.dim;
  const double eps = config_.norm_eps;
  if (precision_ == Precision::bf16) {
    if (ln) layernorm_forward_bf16(out16, mean, rstd, inp, w, b, N, C, eps, residual, sum_out);
    else rmsnorm_forward_bf16(out16, rstd, inp, w, N, C, eps, residual, sum_out);
  } else {
    if (ln) layernorm_forward<float>(out, mean, rstd, inp, w, b, N, C, eps, residual, sum_out);
    else rmsnorm_forward<float>(out, rstd, inp, w, N, C, eps, residual, sum_out);
  }
}

void Transformer::norm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                                const float* w, const float* mean, const float* rstd, int64_t N,
                                const bf16* dout16, const PreparedGradient* next) const {
  const int64_t C = config_.dim;
  ROTOR_CHECK(!next || dout16, "transformer: a prepared gradient comes from the bf16 norm backward only");
  if (config_.norm == NormKind::layernorm) {
    if (dout16) layernorm_backward_bf16(dinp, dw, db, dout16, inp, w, mean, rstd, N, C, next);
    else layernorm_backward<float>(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
  } else {
    if (dout16) rmsnorm_backward_bf16(dinp, dw, dout16, inp, w, rstd, N, C, next);
    else rmsnorm_backward<float>(dinp, dw, dout, inp, w, rstd, N, C);
  }
}

void Transformer::matmul_forward(float* out, const float* inp, const bf16* inp16, const float* w, const float* b,
                                 int64_t N, int64_t IN, int64_t OUT) {
  if (precision_ == Precision::bf16) {
    if (inp) float_to_bf16_buffer(const_cast<bf16*>(inp16), inp, N * IN);  // else inp16 is already filled
    linear_forward_bf16(out, inp16, params16_.data() + (w - params_.data()), b, N, IN, OUT);
  } else {
    linear_forward<float>(out, inp, w, b, N, IN, OUT);
  }
}

void Transformer::matmul_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                                  const bf16* inp16, const float* w, int64_t N, int64_t IN, int64_t OUT,
                                  bool dout_is_prepared, bf16* dinp16) {
  if (precision_ == Precision::bf16) {
    if (!dout_is_prepared) prepare_output_grad_bf16(acts_->dout_16, db, dout, nullptr, N, OUT);
    linear_backward_bf16_prepared(dinp, dw, acts_->dout_16, inp16, params16_.data() + (w - params_.data()), N, IN, OUT,
                                  true, dinp16);
  } else {
    linear_backward<float>(dinp, dw, db, dout, inp, w, N, IN, OUT, true);
  }
}

// ------------------------------------------------------------------------------------ forward

void Transformer::forward_impl(const int32_t* ids, int64_t B, int64_t T) {
  reserve(B, T);
  if (acts_->precision != precision_) {
    acts_.reset();
    reserve(B, T);
  }
  Activations& a = *acts_;
  const TransformerConfig& c = config_;
  const int64_t C = c.dim, V = c.vocab, BT = B * T;
  const bool bf = precision_ == Precision::bf16;
  if (bf && !weights16_current_) {
    timed("weights to bf16", [&] {
      params16_.resize(params_.size());
      float_to_bf16_buffer(params16_.data(), params_.data(), int64_t(params_.size()));
    });
    // current until the next params() access: further passes before an update (gradient accumulation,
    // validation batches) read it as is
    weights16_current_ = true;
  }
  const float* P = params_.data();

  timed("embedding forward", [&] {
    embedding_forward<float>(a.res[0], ids, P + parameter("wte").offset, BT, C, V);
    if (c.pos == PositionKind::learned) add_position_forward<float>(a.res[0], param("wpe"), B, T, C);
    if (c.pos == PositionKind::sinusoidal) add_position_forward<float>(a.res[0], sinusoid_.data(), B, T, C);
  });
  for (int64_t l = 0; l < c.layers; ++l) layer_forward(l, B, T, l == 0);
  const bool ln = c.norm == NormKind::layernorm;
  timed("norm forward", [&] {  // res[L] = res_mid[L-1] + the last MLP output, fused
    norm_forward(a.normf, bf ? a.normf_16 : nullptr, a.meanf, a.rstdf, a.res_mid[c.layers - 1],
                 param("norm_f.weight"), ln ? param("norm_f.bias") : nullptr, BT, a.tmp, a.res[c.layers]);
  });
  const float* head = c.tied_head ? param("wte") : param("head.weight");
  timed("head matmul forward", [&] {
    matmul_forward(a.logits, bf ? nullptr : a.normf, bf ? a.normf_16 : nullptr, head, nullptr, BT, C, V);
  });
}

void Transformer::layer_forward(int64_t l, int64_t B, int64_t T, bool from_saved_input) {
  Activations& a = *acts_;
  const TransformerConfig& c = config_;
  const int64_t C = c.dim, H = c.heads, KV = c.kv_heads, Dh = c.head_dim(), BT = B * T;
  const int64_t W = c.qkv_width(), Hd = c.hidden(), F = c.up_width();
  const AttentionDims dims{B, T, H, KV, Dh};
  const bool bf = precision_ == Precision::bf16;
  const float* P = params_.data();
  auto opt = [&](int64_t off) -> const float* { return off < 0 ? nullptr : P + off; };
  const RopeTable<float>* rope = c.pos == PositionKind::rope ? &rope_ : nullptr;
  const Activation act = c.activation();
  const LayerParams lp = layer(l);
  const AttentionMatmul amm{bf, a.attn_workspace, bf ? a.attn_saved[l] : nullptr, bf};
  // res[l] = res_mid[l-1] + the previous block's MLP output (in tmp), fused into norm1 (as every
  // residual connection here is fused into the norm that follows it)
  timed("norm forward", [&] {
    if (from_saved_input)
      norm_forward(a.norm1[l], bf ? a.norm1_16[l] : nullptr, a.mean1[l], a.rstd1[l], a.res[l], P + lp.norm1_w,
                   opt(lp.norm1_b), BT);
    else
      norm_forward(a.norm1[l], bf ? a.norm1_16[l] : nullptr, a.mean1[l], a.rstd1[l], a.res_mid[l - 1],
                   P + lp.norm1_w, opt(lp.norm1_b), BT, a.tmp, a.res[l]);
  });
  // bf16: the projection goes straight into the attention's saved bf16 qkv (amm.qkv16_ready)
  timed("qkv matmul forward", [&] {
    if (bf)
      linear_forward_bf16_out(a.attn_saved[l], a.norm1_16[l], params16_.data() + lp.qkv_w, opt(lp.qkv_b), BT, C, W);
    else
      matmul_forward(a.qkv[l], a.norm1[l], nullptr, P + lp.qkv_w, opt(lp.qkv_b), BT, C, W);
  });
  if (rope)
    timed("rope forward", [&] {
      if (bf) rope_qkv_forward_bf16(a.attn_saved[l], dims, *rope);
      else rope_qkv_forward<float>(a.qkv[l], dims, *rope);
    });
  timed("attention forward", [&] {  // bf16: the output comes in bf16, the out projection's input
    AttentionMatmul fwd = amm;
    fwd.out16 = bf ? a.atty_16[l] : nullptr;
    attention_forward<float>(a.atty[l], a.probs[l], bf ? nullptr : a.qkv[l], dims, fwd);
  });
  timed("out matmul forward", [&] {
    matmul_forward(a.tmp, bf ? nullptr : a.atty[l], bf ? a.atty_16[l] : nullptr, P + lp.out_w, opt(lp.out_b), BT,
                   H * Dh, C);
  });
  timed("norm forward", [&] {  // res_mid = res + attention output, fused
    norm_forward(a.norm2[l], bf ? a.norm2_16[l] : nullptr, a.mean2[l], a.rstd2[l], a.res[l], P + lp.norm2_w,
                 opt(lp.norm2_b), BT, a.tmp, a.res_mid[l]);
  });
  const bool mlp16 = bf && !c.gated();
  timed("up matmul forward", [&] {
    if (mlp16)
      linear_forward_bf16_out(a.up_16[l], a.norm2_16[l], params16_.data() + lp.up_w, opt(lp.up_b), BT, C, F);
    else
      matmul_forward(a.up[l], bf ? nullptr : a.norm2[l], bf ? a.norm2_16[l] : nullptr, P + lp.up_w, opt(lp.up_b),
                     BT, C, F);
  });
  timed("activation forward", [&] {
    if (mlp16)
      activation_forward_bf16(act, a.act_16[l], a.up_16[l], BT * Hd);
    else if (!c.gated())
      activation_forward_saving_grad(act, a.act[l], nullptr, a.act_grad[l], a.up[l], BT * Hd);
    else if (bf)
      gated_forward_bf16(act, a.act_16[l], a.up[l], BT, Hd);
    else
      gated_forward<float>(act, a.act[l], a.up[l], BT, Hd);
  });
  timed("down matmul forward", [&] {
    matmul_forward(a.tmp, bf ? nullptr : a.act[l], bf ? a.act_16[l] : nullptr, P + lp.down_w, opt(lp.down_b), BT,
                   Hd, C);
  });
}

double Transformer::forward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T) {
  forward_impl(ids, B, T);
  if (!targets) return std::numeric_limits<double>::quiet_NaN();
  return cross_entropy_forward<float>(nullptr, acts_->logits, targets, B * T, config_.vocab);
}

const float* Transformer::logits() const {
  ROTOR_CHECK(acts_ != nullptr, "transformer: logits() before forward()");
  return acts_->logits;
}

// ------------------------------------------------------------------------------------ backward

double Transformer::forward_backward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T) {
  ROTOR_CHECK(targets != nullptr, "transformer: forward_backward needs targets");
  forward_impl(ids, B, T);
  // logits become d loss / d logits, in place
  double loss = 0;
  timed("cross-entropy", [&] {
    loss = cross_entropy_forward_backward<float>(acts_->logits, acts_->logits, targets, B * T, config_.vocab);
  });
  backward_impl(ids, B, T);
  return loss;
}

void Transformer::backward_impl(const int32_t* ids, int64_t B, int64_t T) {
  Activations& a = *acts_;
  const TransformerConfig& c = config_;
  const int64_t C = c.dim, H = c.heads, KV = c.kv_heads, Dh = c.head_dim(), V = c.vocab, BT = B * T;
  const int64_t W = c.qkv_width(), Hd = c.hidden(), F = c.up_width();
  const AttentionDims dims{B, T, H, KV, Dh};
  const bool bf = precision_ == Precision::bf16;
  const float* P = params_.data();
  float* G = grads_.data();
  auto opt = [&](int64_t off) -> const float* { return off < 0 ? nullptr : P + off; };
  auto gopt = [&](int64_t off) -> float* { return off < 0 ? nullptr : G + off; };
  auto zero = [](float* p, int64_t n) { std::memset(p, 0, sizeof(float) * n); };
  const RopeTable<float>* rope = c.pos == PositionKind::rope ? &rope_ : nullptr;
  const Activation act = c.activation();
  const bool ln = c.norm == NormKind::layernorm;

  // head and final norm
  const ParameterInfo& head = parameter(c.tied_head ? "wte" : "head.weight");
  timed("head matmul backward", [&] {
    matmul_backward(a.d_norm, G + head.offset, nullptr, a.logits, a.normf, bf ? a.normf_16 : nullptr,
                    P + head.offset, BT, C, V);
  });
  const ParameterInfo& nfw = parameter("norm_f.weight");
  timed("norm backward", [&] {
    zero(a.d_res, BT * C);
    norm_backward(a.d_res, G + nfw.offset, ln ? G + parameter("norm_f.bias").offset : nullptr, a.d_norm,
                  a.res[c.layers], P + nfw.offset, a.meanf, a.rstdf, BT);
  });

  const int64_t K = a.every > 0 ? std::min(a.every, c.layers) : 0;
  for (int64_t l = c.layers - 1; l >= 0; --l) {
    // checkpointing: entering a segment other than the last (whose activations the forward left in the
    // slots), recompute its blocks' forward from the residual stream saved at its start
    if (K && l / K != (c.layers - 1) / K && l % K == K - 1)
      timed("recompute forward", [&] {
        for (int64_t j = l - K + 1; j <= l; ++j) layer_forward(j, B, T, j == l - K + 1);
      });
    const LayerParams lp = layer(l);
    // MLP half: res[l+1] = res_mid + down(act(up(norm2(res_mid))))
    const AttentionMatmul amm{bf, a.attn_workspace, bf ? a.attn_saved[l] : nullptr, bf};
    const bool mlp16 = bf && !c.gated();
    // bf16: below the last layer, the norm1 backward of the layer above prepared d_res (and this bias
    // gradient) into dout_16
    const bool down_prepared = bf && l < c.layers - 1;
    timed("down matmul backward", [&] {
      matmul_backward(mlp16 ? nullptr : a.d_act, G + lp.down_w, gopt(lp.down_b), a.d_res, a.act[l],
                      bf ? a.act_16[l] : nullptr, P + lp.down_w, BT, Hd, C, down_prepared,
                      mlp16 ? a.d_act_16 : nullptr);
    });
    timed("activation backward", [&] {
      if (c.gated()) {
        zero(a.d_up, BT * F);
        gated_backward<float>(act, a.d_up, a.d_act, a.up[l], BT, Hd);
      } else if (mlp16) {
        // the up projection's bf16 output gradient (and its bias gradient) straight from d_act, with the
        // derivative recomputed from the saved pre-activation
        activation_backward_prepare_bf16(act, a.dout_16, gopt(lp.up_b), a.d_act_16, a.up_16[l], BT, Hd);
      } else {
        activation_backward_from_grad(a.d_up, a.d_act, a.act_grad[l], BT * Hd);
      }
    });
    timed("up matmul backward", [&] {
      matmul_backward(bf ? nullptr : a.d_norm, G + lp.up_w, gopt(lp.up_b), a.d_up, a.norm2[l],
                      bf ? a.norm2_16[l] : nullptr, P + lp.up_w, BT, C, F, bf && !c.gated(),
                      bf ? a.d_norm_16 : nullptr);
    });
    // bf16: the norm backward also prepares the finished d_res as the out projection's output gradient
    const PreparedGradient to_out{a.dout_16, gopt(lp.out_b)};
    timed("norm backward", [&] {
      norm_backward(a.d_res, G + lp.norm2_w, gopt(lp.norm2_b), a.d_norm, a.res_mid[l], P + lp.norm2_w, a.mean2[l],
                    a.rstd2[l], BT, bf ? a.d_norm_16 : nullptr, bf ? &to_out : nullptr);
    });
    // attention half: res_mid = res[l] + out(attention(qkv(norm1(res[l]))))
    timed("out matmul backward", [&] {  // in bf16 precision the attention takes its output gradient in bf16
      matmul_backward(bf ? nullptr : a.d_atty, G + lp.out_w, gopt(lp.out_b), a.d_res, a.atty[l],
                      bf ? a.atty_16[l] : nullptr, P + lp.out_w, BT, H * Dh, C, bf, bf ? a.d_atty_16 : nullptr);
    });
    timed("attention backward", [&] {
      AttentionMatmul grads = amm;
      if (bf) {  // bf16 output gradient in; d(qkv) out rotated back, in bf16, with its bias gradient
        grads.dout16 = a.d_atty_16;
        grads.dqkv16 = a.dout_16;
        grads.dqkv_bias = gopt(lp.qkv_b);
        grads.rope = rope;
      }
      attention_backward<float>(a.d_qkv, a.d_probs, a.d_atty, a.probs[l], bf ? nullptr : a.qkv[l], dims, grads);
    });
    if (!bf && rope) timed("rope backward", [&] { rope_qkv_backward<float>(a.d_qkv, dims, *rope); });
    timed("qkv matmul backward", [&] {
      matmul_backward(bf ? nullptr : a.d_norm, G + lp.qkv_w, gopt(lp.qkv_b), a.d_qkv, a.norm1[l],
                      bf ? a.norm1_16[l] : nullptr, P + lp.qkv_w, BT, C, W, bf, bf ? a.d_norm_16 : nullptr);
    });
    // bf16: ... and here as the output gradient of the down projection of the layer below
    const PreparedGradient to_down{a.dout_16, l > 0 ? gopt(layer(l - 1).down_b) : nullptr};
    timed("norm backward", [&] {
      norm_backward(a.d_res, G + lp.norm1_w, gopt(lp.norm1_b), a.d_norm, a.res[l], P + lp.norm1_w, a.mean1[l],
                    a.rstd1[l], BT, bf ? a.d_norm_16 : nullptr, bf && l > 0 ? &to_down : nullptr);
    });
    if (ready_hook_) {  // this block's parameters, from its norm1 weight to the next block's (or norm_f's)
      const int64_t begin = lp.norm1_w;
      const int64_t end = l + 1 < c.layers ? layer(l + 1).norm1_w : parameter("norm_f.weight").offset;
      ready_hook_(begin, end - begin);
    }
    (void)opt;
  }
  timed("embedding backward", [&] {
    embedding_backward<float>(G + parameter("wte").offset, a.d_res, ids, BT, C);
    if (c.pos == PositionKind::learned) add_position_backward<float>(G + parameter("wpe").offset, a.d_res, B, T, C);
  });
  if (ready_hook_) {  // embeddings before the blocks; final norm and head after them
    const int64_t first = layer(0).norm1_w, last = parameter("norm_f.weight").offset;
    ready_hook_(0, first);
    ready_hook_(last, num_parameters() - last);
  }
}

}  // namespace rotor::models
