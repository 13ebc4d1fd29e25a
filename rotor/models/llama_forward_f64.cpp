#include "rotor/models/llama_forward_f64.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rotor/core/error.h"
#include "rotor/kernels/rope_frequencies.h"

namespace rotor::models {
namespace {

using Buffer = std::vector<double>;

// out[t, o] = sum_i in[t, i] * w[o, i]      in: [T, In], w: [Out, In] (f32), out: [T, Out]
Buffer linear(const Buffer& in, int64_t T, const Tensor& w) {
  const int64_t out_features = w.size(0), in_features = w.size(1);
  const float* W = w.data<float>();
  Buffer out(static_cast<size_t>(T * out_features));
#pragma omp parallel for collapse(2) schedule(static) if (T * out_features * in_features > (1 << 16))
  for (int64_t t = 0; t < T; ++t)
    for (int64_t o = 0; o < out_features; ++o) {
      const double* x = in.data() + t * in_features;
      const float* row = W + o * in_features;
      double s = 0;
      for (int64_t i = 0; i < in_features; ++i) s += x[i] * static_cast<double>(row[i]);
      out[t * out_features + o] = s;
    }
  return out;
}

// x: [T, H] -> x / sqrt(mean(x^2) + eps) * weight
Buffer rms_norm(const Buffer& x, int64_t T, const Tensor& weight, double eps) {
  const int64_t H = weight.size(0);
  const float* w = weight.data<float>();
  Buffer out(x.size());
  for (int64_t t = 0; t < T; ++t) {
    const double* row = x.data() + t * H;
    double ss = 0;
    for (int64_t i = 0; i < H; ++i) ss += row[i] * row[i];
    const double scale = 1.0 / std::sqrt(ss / static_cast<double>(H) + eps);
    for (int64_t i = 0; i < H; ++i) out[t * H + i] = row[i] * scale * static_cast<double>(w[i]);
  }
  return out;
}

// Rotates the first rotary_dim channels of every head of x: [T, heads, head_dim] in place.
void apply_rope(Buffer& x, int64_t T, int64_t heads, int64_t head_dim, const Buffer& cos, const Buffer& sin,
                int64_t half) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      double* v = x.data() + (t * heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const double c = cos[t * half + i], s = sin[t * half + i];
        const double a = v[i], b = v[i + half];
        v[i] = a * c - b * s;
        v[i + half] = b * c + a * s;
      }
    }
}

}  // namespace

Tensor hf_llama_logits_f64(const HfLlamaModel& model, const std::vector<int64_t>& ids) {
  const HfLlamaConfig& c = model.config;
  const HfLlamaWeights& w = model.weights;
  const int64_t T = static_cast<int64_t>(ids.size());
  const int64_t H = c.hidden_size, V = c.vocab_size, nh = c.num_heads, nkv = c.num_kv_heads, hd = c.head_dim;
  ROTOR_CHECK(T >= 1, "llama: no token ids given");
  for (int64_t t = 0; t < T; ++t)
    ROTOR_CHECK(ids[t] >= 0 && ids[t] < V, "llama: token id ", ids[t], " at position ", t,
                " is outside the vocabulary [0, ", V, ")");

  // RoPE tables for positions 0..T-1: [T, rotary_dim / 2].
  const std::vector<double> inv_freq = kernels::rope_inverse_frequencies_f64(c.rope, T);
  const double attention_factor = kernels::rope_attention_factor_f64(c.rope);
  const int64_t half = static_cast<int64_t>(inv_freq.size());
  Buffer cos(static_cast<size_t>(T * half)), sin(cos.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(t) * inv_freq[i];
      cos[t * half + i] = std::cos(angle) * attention_factor;
      sin[t * half + i] = std::sin(angle) * attention_factor;
    }

  Buffer x(static_cast<size_t>(T * H));
  const float* embed = w.embed_tokens.data<float>();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < H; ++i) x[t * H + i] = embed[ids[t] * H + i];

  const int64_t group = nh / nkv;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (const HfLlamaLayerWeights& layer : w.layers) {
    const Buffer n = rms_norm(x, T, layer.input_norm, c.rms_norm_eps);
    Buffer q = linear(n, T, layer.q_proj);  // [T, nh, hd]
    Buffer k = linear(n, T, layer.k_proj);  // [T, nkv, hd]
    const Buffer v = linear(n, T, layer.v_proj);
    apply_rope(q, T, nh, hd, cos, sin, half);
    apply_rope(k, T, nkv, hd, cos, sin, half);

    Buffer attended(static_cast<size_t>(T * nh * hd), 0.0);  // [T, nh, hd]
    Buffer p(static_cast<size_t>(T));
    for (int64_t h = 0; h < nh; ++h) {
      const int64_t g = h / group;
      for (int64_t t = 0; t < T; ++t) {
        const double* qv = q.data() + (t * nh + h) * hd;
        double top = -std::numeric_limits<double>::infinity();
        for (int64_t s = 0; s <= t; ++s) {
          const double* kv = k.data() + (s * nkv + g) * hd;
          double dot = 0;
          for (int64_t j = 0; j < hd; ++j) dot += qv[j] * kv[j];
          p[s] = dot * scale;
          top = std::max(top, p[s]);
        }
        double total = 0;
        for (int64_t s = 0; s <= t; ++s) total += (p[s] = std::exp(p[s] - top));
        double* out = attended.data() + (t * nh + h) * hd;
        for (int64_t s = 0; s <= t; ++s) {
          const double* vv = v.data() + (s * nkv + g) * hd;
          for (int64_t j = 0; j < hd; ++j) out[j] += p[s] / total * vv[j];
        }
      }
    }
    const Buffer o = linear(attended, T, layer.o_proj);
    for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];

    const Buffer m = rms_norm(x, T, layer.post_attention_norm, c.rms_norm_eps);
    Buffer gate = linear(m, T, layer.gate_proj);
    const Buffer up = linear(m, T, layer.up_proj);
    for (size_t i = 0; i < gate.size(); ++i) gate[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
    const Buffer down = linear(gate, T, layer.down_proj);
    for (size_t i = 0; i < x.size(); ++i) x[i] += down[i];
  }
  const Buffer final_hidden = rms_norm(x, T, w.final_norm, c.rms_norm_eps);
  const Buffer logits = linear(final_hidden, T, w.lm_head);
  return Tensor::from_vector(logits, {T, V});
}

}  // namespace rotor::models
