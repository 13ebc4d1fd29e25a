// Transformer::Decoder: one-token-at-a-time generation with a key/value cache, in f32.
#include <cstring>

#include "rotor/core/error.h"
#include "rotor/kernels/activations.h"
#include "rotor/kernels/attention.h"
#include "rotor/kernels/layernorm.h"
#include "rotor/kernels/linear.h"
#include "rotor/models/transformer.h"

namespace rotor::models {

using namespace rotor::kernels;

Transformer::Decoder::Decoder(const Transformer& model) : m_(model) {
  const TransformerConfig& c = m_.config_;
  const int64_t C = c.dim, Dh = c.head_dim(), W = c.qkv_width(), Hd = c.hidden();
  k_cache_.assign(c.layers * c.kv_heads * c.ctx * Dh, 0.0f);
  v_cache_.assign(k_cache_.size(), 0.0f);
  x_.resize(C);
  h_.resize(C);
  qkv_.resize(W);
  att_.resize(c.heads * Dh);
  tmp_.resize(C);
  fc_.resize(c.up_width());
  act_.resize(Hd);
  logits_.resize(c.vocab);
  mean_.resize(1);
  rstd_.resize(1);
}

const float* Transformer::Decoder::step(int32_t token) {
  const TransformerConfig& c = m_.config_;
  ROTOR_CHECK(pos_ < c.ctx, "decoder: the context of ", c.ctx, " tokens is full");
  const int64_t C = c.dim, H = c.heads, KV = c.kv_heads, Dh = c.head_dim(), V = c.vocab;
  const int64_t W = c.qkv_width(), Hd = c.hidden(), F = c.up_width();
  ROTOR_CHECK(token >= 0 && token < V, "decoder: token id ", token, " is outside the vocabulary [0, ", V, ")");
  const float* P = m_.params_.data();
  const bool ln = c.norm == NormKind::layernorm;
  auto norm = [&](float* out, const float* in, const float* w, const float* b) {
    if (ln)
      layernorm_forward<float>(out, mean_.data(), rstd_.data(), in, w, b, 1, C, c.norm_eps);
    else
      rmsnorm_forward<float>(out, rstd_.data(), in, w, 1, C, c.norm_eps);
  };
  auto opt = [&](int64_t off) -> const float* { return off < 0 ? nullptr : P + off; };
  std::memcpy(x_.data(), m_.param("wte") + int64_t(token) * C, sizeof(float) * C);
  if (c.pos == PositionKind::learned)
    for (int64_t i = 0; i < C; ++i) x_[i] += m_.param("wpe")[pos_ * C + i];
  if (c.pos == PositionKind::sinusoidal)
    for (int64_t i = 0; i < C; ++i) x_[i] += m_.sinusoid_[pos_ * C + i];
  const Activation act = c.activation();
  for (int64_t l = 0; l < c.layers; ++l) {
    const LayerParams lp = m_.layer(l);
    norm(h_.data(), x_.data(), P + lp.norm1_w, opt(lp.norm1_b));
    linear_forward<float>(qkv_.data(), h_.data(), P + lp.qkv_w, opt(lp.qkv_b), 1, C, W);
    float* q = qkv_.data();
    float* k = q + H * Dh;
    float* v = k + KV * Dh;
    if (c.pos == PositionKind::rope) {
      rope_rotate<float>(q, H, pos_, m_.rope_, false);
      rope_rotate<float>(k, KV, pos_, m_.rope_, false);
    }
    float* kc = k_cache_.data() + l * KV * c.ctx * Dh;
    float* vc = v_cache_.data() + l * KV * c.ctx * Dh;
    for (int64_t h = 0; h < KV; ++h) {
      std::memcpy(kc + (h * c.ctx + pos_) * Dh, k + h * Dh, sizeof(float) * Dh);
      std::memcpy(vc + (h * c.ctx + pos_) * Dh, v + h * Dh, sizeof(float) * Dh);
    }
    attention_decode<float>(att_.data(), q, kc, vc, H, KV, Dh, c.ctx, pos_);
    linear_forward<float>(tmp_.data(), att_.data(), P + lp.out_w, opt(lp.out_b), 1, H * Dh, C);
    for (int64_t i = 0; i < C; ++i) x_[i] += tmp_[i];
    norm(h_.data(), x_.data(), P + lp.norm2_w, opt(lp.norm2_b));
    linear_forward<float>(fc_.data(), h_.data(), P + lp.up_w, opt(lp.up_b), 1, C, F);
    if (c.gated())
      gated_forward<float>(act, act_.data(), fc_.data(), 1, Hd);
    else
      activation_forward<float>(act, act_.data(), fc_.data(), Hd);
    linear_forward<float>(tmp_.data(), act_.data(), P + lp.down_w, opt(lp.down_b), 1, Hd, C);
    for (int64_t i = 0; i < C; ++i) x_[i] += tmp_[i];
  }
  norm(h_.data(), x_.data(), m_.param("norm_f.weight"), ln ? m_.param("norm_f.bias") : nullptr);
  const float* head = c.tied_head ? m_.param("wte") : m_.param("head.weight");
  linear_forward<float>(logits_.data(), h_.data(), head, nullptr, 1, C, V);
  ++pos_;
  return logits_.data();
}

}  // namespace rotor::models
