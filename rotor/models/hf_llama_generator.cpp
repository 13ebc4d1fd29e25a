#include "rotor/models/hf_llama_generator.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "rotor/core/error.h"
#include "rotor/kernels/activations.h"
#include "rotor/kernels/bf16_convert.h"
#include "rotor/kernels/gemv.h"
#include "rotor/kernels/layernorm.h"
#include "rotor/kernels/linear.h"
#include "rotor/kernels/parallel_rows.h"

namespace rotor::models {
namespace {

using namespace rotor::kernels;

// Stacks the f32 tensors' rows into one matrix in `dtype`.
GeneratorMatrix stack_rows(const std::vector<const Tensor*>& parts, DType dtype) {
  GeneratorMatrix m;
  m.cols = parts[0]->shape()[1];
  for (const Tensor* p : parts) m.rows += p->shape()[0];
  std::vector<float> all;
  all.reserve(m.rows * m.cols);
  for (const Tensor* p : parts) all.insert(all.end(), p->data<float>(), p->data<float>() + p->numel());
  if (dtype == DType::f32) {
    m.packed = pack_gemv_f32(all.data(), m.rows, m.cols);
    m.f32 = std::move(all);
  } else {
    m.packed = pack_gemv_bf16(all.data(), m.rows, m.cols);
    m.b16.resize(all.size());
    float_to_bf16_buffer(m.b16.data(), all.data(), static_cast<int64_t>(all.size()));
  }
  return m;
}

std::vector<float> copy_vector(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.numel()}; }

float to_float(float v) { return v; }
float to_float(bf16 v) { return bf16_to_float(v); }

// One query head q [Dh] against cached keys/values [0, len) of its key/value head (k, v: [ctx, Dh]):
// out [Dh] = softmax(q k^T / sqrt(Dh)) v, two passes over the scores held in `scores` [len].
template <class Cache>
void attend_head(float* out, const float* q, const Cache* k, const Cache* v, int64_t Dh, int64_t len,
                 float* scores) {
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(Dh)));
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < len; ++j) {
    const Cache* kj = k + j * Dh;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < Dh; ++i) s += q[i] * to_float(kj[i]);
    scores[j] = s * scale;
    mx = std::max(mx, scores[j]);
  }
  float sum = 0;
  for (int64_t j = 0; j < len; ++j) sum += scores[j] = std::exp(scores[j] - mx);
  for (int64_t i = 0; i < Dh; ++i) out[i] = 0;
  for (int64_t j = 0; j < len; ++j) {
    const Cache* vj = v + j * Dh;
    const float p = scores[j];
#pragma omp simd
    for (int64_t i = 0; i < Dh; ++i) out[i] += p * to_float(vj[i]);
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < Dh; ++i) out[i] *= inv;
}

}  // namespace

HfLlamaGenerator::HfLlamaGenerator(const HfLlamaModel& model, int64_t ctx, DType weight_dtype, DType kv_dtype)
    : config_(model.config), ctx_(ctx), weight_dtype_(weight_dtype), kv_dtype_(kv_dtype) {
  ROTOR_CHECK(weight_dtype == DType::f32 || weight_dtype == DType::bf16, "generate: weight dtype must be f32 or bf16, got ",
              dtype_name(weight_dtype));
  ROTOR_CHECK(kv_dtype == DType::f32 || kv_dtype == DType::bf16, "generate: KV cache dtype must be f32 or bf16, got ",
              dtype_name(kv_dtype));
  ROTOR_CHECK(ctx >= 1, "generate: the context must hold at least one position, got ", ctx);
  const HfLlamaConfig& c = config_;
  const HfLlamaWeights& w = model.weights;
  embed_ = copy_vector(w.embed_tokens);
  for (const HfLlamaLayerWeights& l : w.layers) {
    Layer g;
    g.input_norm = copy_vector(l.input_norm);
    g.post_attention_norm = copy_vector(l.post_attention_norm);
    g.qkv = stack_rows({&l.q_proj, &l.k_proj, &l.v_proj}, weight_dtype);
    g.o = stack_rows({&l.o_proj}, weight_dtype);
    g.gate_up = stack_rows({&l.gate_proj, &l.up_proj}, weight_dtype);
    g.down = stack_rows({&l.down_proj}, weight_dtype);
    layers_.push_back(std::move(g));
  }
  final_norm_ = copy_vector(w.final_norm);
  head_ = stack_rows({&w.lm_head}, weight_dtype);
  rope_ = make_rope_table<float>(c.rope, ctx);
  const size_t cache = static_cast<size_t>(c.num_layers * c.num_kv_heads * ctx * c.head_dim);
  if (kv_dtype == DType::f32) {
    k_cache_.assign(cache, 0.0f);
    v_cache_.assign(cache, 0.0f);
  } else {
    k_cache16_.assign(cache, bf16{});
    v_cache16_.assign(cache, bf16{});
  }
  logits_.resize(c.vocab_size);
}

void HfLlamaGenerator::matmul(float* out, const float* in, int64_t n, const GeneratorMatrix& m) {
  if (weight_dtype_ == DType::f32) {
    if (n == 1) gemv_f32(out, in, m.packed);
    else linear_forward<float>(out, in, m.f32.data(), nullptr, n, m.cols, m.rows);
    return;
  }
  in16_.resize(n * m.cols);
  float_to_bf16_buffer(in16_.data(), in, n * m.cols);
  if (n == 1) gemv_bf16(out, in16_.data(), m.packed);
  else linear_forward_bf16(out, in16_.data(), m.b16.data(), nullptr, n, m.cols, m.rows);
}

void HfLlamaGenerator::append_kv(const float* qkv, int64_t n, int64_t l) {
  const int64_t H = config_.num_heads, KV = config_.num_kv_heads, Dh = config_.head_dim, W = (H + 2 * KV) * Dh;
  const size_t layer = static_cast<size_t>(l * KV * ctx_ * Dh);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < KV; ++h) {
      const float* k = qkv + t * W + (H + h) * Dh;
      const float* v = qkv + t * W + (H + KV + h) * Dh;
      const size_t at = layer + static_cast<size_t>((h * ctx_ + pos_ + t) * Dh);
      if (kv_dtype_ == DType::f32) {
        std::memcpy(k_cache_.data() + at, k, sizeof(float) * Dh);
        std::memcpy(v_cache_.data() + at, v, sizeof(float) * Dh);
      } else {
        float_to_bf16_buffer(k_cache16_.data() + at, k, Dh);
        float_to_bf16_buffer(v_cache16_.data() + at, v, Dh);
      }
    }
}

void HfLlamaGenerator::attend(float* att, const float* qkv, int64_t n, int64_t l) {
  const int64_t H = config_.num_heads, KV = config_.num_kv_heads, Dh = config_.head_dim, W = (H + 2 * KV) * Dh;
  const int64_t G = H / KV;
  const size_t layer = static_cast<size_t>(l * KV * ctx_ * Dh);
  // rows (query position, head); row t attends to positions [0, pos_ + t]
  parallel_rows(n * H, (pos_ + n) * Dh * 2, [&](int64_t row) {
    const int64_t t = row / H, h = row % H, len = pos_ + t + 1;
    const size_t at = layer + static_cast<size_t>((h / G) * ctx_ * Dh);
    thread_local std::vector<float> scores;
    scores.resize(len);
    float* out = att + t * H * Dh + h * Dh;
    const float* q = qkv + t * W + h * Dh;
    if (kv_dtype_ == DType::f32)
      attend_head(out, q, k_cache_.data() + at, v_cache_.data() + at, Dh, len, scores.data());
    else
      attend_head(out, q, k_cache16_.data() + at, v_cache16_.data() + at, Dh, len, scores.data());
  });
}

// x: [n, C] residual stream; per layer: x += o(attention(rope(qkv(norm1(x)))));
// x += down(silu(gate(norm2(x))) * up(norm2(x))); logits = head(norm(x[n - 1])).
const float* HfLlamaGenerator::forward(const int32_t* ids, int64_t n) {
  const HfLlamaConfig& c = config_;
  const int64_t C = c.hidden_size, H = c.num_heads, KV = c.num_kv_heads, Dh = c.head_dim, I = c.intermediate_size;
  const int64_t W = (H + 2 * KV) * Dh, V = c.vocab_size;
  ROTOR_CHECK(n >= 1, "generate: no tokens to run");
  ROTOR_CHECK(pos_ + n <= ctx_, "generate: ", pos_ + n, " positions exceed the context of ", ctx_);
  for (int64_t t = 0; t < n; ++t)
    ROTOR_CHECK(ids[t] >= 0 && ids[t] < V, "generate: token id ", ids[t], " is outside the vocabulary [0, ", V, ")");
  x_.resize(n * C);
  h_.resize(n * C);
  qkv_.resize(n * W);
  att_.resize(n * H * Dh);
  tmp_.resize(n * C);
  fc_.resize(n * 2 * I);
  act_.resize(n * I);
  rstd_.resize(n);
  for (int64_t t = 0; t < n; ++t) std::memcpy(x_.data() + t * C, embed_.data() + int64_t(ids[t]) * C, sizeof(float) * C);
  const double eps = c.rms_norm_eps;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    Layer& g = layers_[l];
    rmsnorm_forward<float>(h_.data(), rstd_.data(), x_.data(), g.input_norm.data(), n, C, eps);
    matmul(qkv_.data(), h_.data(), n, g.qkv);
    for (int64_t t = 0; t < n; ++t) {
      rope_rotate<float>(qkv_.data() + t * W, H, pos_ + t, rope_, false);
      rope_rotate<float>(qkv_.data() + t * W + H * Dh, KV, pos_ + t, rope_, false);
    }
    append_kv(qkv_.data(), n, l);
    attend(att_.data(), qkv_.data(), n, l);
    matmul(tmp_.data(), att_.data(), n, g.o);
    // h = norm2(x + attention), and x becomes that sum (one pass)
    rmsnorm_forward<float>(h_.data(), rstd_.data(), x_.data(), g.post_attention_norm.data(), n, C, eps, tmp_.data(),
                           x_.data());
    matmul(fc_.data(), h_.data(), n, g.gate_up);
    gated_forward<float>(Activation::silu, act_.data(), fc_.data(), n, I);
    matmul(tmp_.data(), act_.data(), n, g.down);
    for (int64_t i = 0; i < n * C; ++i) x_[i] += tmp_[i];
  }
  const float* last = x_.data() + (n - 1) * C;
  rmsnorm_forward<float>(h_.data(), rstd_.data(), last, final_norm_.data(), 1, C, eps);
  matmul(logits_.data(), h_.data(), 1, head_);
  pos_ += n;
  return logits_.data();
}

}  // namespace rotor::models
