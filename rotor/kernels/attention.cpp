#include "rotor/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "rotor/core/error.h"
#include "rotor/kernels/bf16_convert.h"
#include "rotor/kernels/matmul.h"
#include "rotor/kernels/parallel_rows.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

void check_attention_dims(const AttentionDims& d) {
  ROTOR_CHECK(d.B > 0 && d.T > 0 && d.H > 0 && d.KV > 0 && d.Dh > 0, "attention: dimensions must be positive (B=",
              d.B, " T=", d.T, " H=", d.H, " KV=", d.KV, " Dh=", d.Dh, ")");
  ROTOR_CHECK(d.H % d.KV == 0, "attention: ", d.H, " query heads are not a multiple of ", d.KV, " key/value heads");
}

// ---------------------------------------------------------------------------------------------- RoPE

template <class T> RopeTable<T> make_rope_table(const RopeSpec& spec, int64_t max_T) {
  RopeTable<T> t;
  t.max_T = max_T;
  t.head_dim = spec.head_dim;
  t.rotary_dim = rope_rotary_dim(spec);
  t.layout = spec.layout;
  const int64_t pairs = t.rotary_dim / 2;
  const std::vector<float> inv = rope_inverse_frequencies(spec, max_T);
  const double factor = rope_attention_factor(spec);
  t.cos.resize(max_T * pairs);
  t.sin.resize(max_T * pairs);
  for (int64_t p = 0; p < max_T; ++p)
    for (int64_t i = 0; i < pairs; ++i) {
      // angle in float like the reference implementations (positions * inv_freq in f32), then cos/sin
      const double angle = double(float(p) * inv[i]);
      t.cos[p * pairs + i] = T(std::cos(angle) * factor);
      t.sin[p * pairs + i] = T(std::sin(angle) * factor);
    }
  return t;
}

template <class T> void rope_rotate(T* x, int64_t heads, int64_t pos, const RopeTable<T>& rope, bool inverse) {
  const int64_t pairs = rope.rotary_dim / 2, Dh = rope.head_dim;
  const T* c = rope.cos.data() + pos * pairs;
  const T* s = rope.sin.data() + pos * pairs;
  const T sign = inverse ? T(-1) : T(1);
  for (int64_t h = 0; h < heads; ++h) {
    T* v = x + h * Dh;
    if (rope.layout == RopeLayout::half_split) {
      T* a = v;
      T* b = v + pairs;
#pragma omp simd
      for (int64_t i = 0; i < pairs; ++i) {
        const T x1 = a[i], x2 = b[i], si = sign * s[i];
        a[i] = x1 * c[i] - x2 * si;
        b[i] = x1 * si + x2 * c[i];
      }
    } else {
      for (int64_t i = 0; i < pairs; ++i) {
        const T x1 = v[2 * i], x2 = v[2 * i + 1], si = sign * s[i];
        v[2 * i] = x1 * c[i] - x2 * si;
        v[2 * i + 1] = x1 * si + x2 * c[i];
      }
    }
  }
}

template <class T>
void qkv_split_rope_forward(T* q, T* k, T* v, const T* qkv, const AttentionDims& d, const RopeTable<T>* rope) {
  check_attention_dims(d);
  ROTOR_CHECK(!rope || (rope->max_T >= d.T && rope->head_dim == d.Dh), "attention: rope table for ",
              rope ? rope->max_T : 0, " positions of head_dim ", rope ? rope->head_dim : 0, " cannot serve T=", d.T,
              " Dh=", d.Dh);
  const int64_t W = d.qkv_width(), Dh = d.Dh;
  parallel_rows(d.B * d.T, W, [&](int64_t r) {
    const int64_t b = r / d.T, t = r % d.T;
    const T* row = qkv + r * W;
    for (int64_t h = 0; h < d.H; ++h) {
      T* dst = q + ((b * d.H + h) * d.T + t) * Dh;
      std::memcpy(dst, row + h * Dh, sizeof(T) * Dh);
      if (rope) rope_rotate(dst, 1, t, *rope, false);
    }
    for (int64_t h = 0; h < d.KV; ++h) {
      T* dk = k + ((b * d.KV + h) * d.T + t) * Dh;
      std::memcpy(dk, row + (d.H + h) * Dh, sizeof(T) * Dh);
      if (rope) rope_rotate(dk, 1, t, *rope, false);
      std::memcpy(v + ((b * d.KV + h) * d.T + t) * Dh, row + (d.H + d.KV + h) * Dh, sizeof(T) * Dh);
    }
  });
}

template <class T>
void qkv_split_rope_backward(T* dqkv, const T* dq, const T* dk, const T* dv, const AttentionDims& d,
                             const RopeTable<T>* rope) {
  check_attention_dims(d);
  const int64_t W = d.qkv_width(), Dh = d.Dh;
  parallel_rows(d.B * d.T, W, [&](int64_t r) {
    const int64_t b = r / d.T, t = r % d.T;
    T* row = dqkv + r * W;
    std::vector<T> tmp(Dh);
    auto add_head = [&](T* dst, const T* src, bool rotate) {
      std::memcpy(tmp.data(), src, sizeof(T) * Dh);
      if (rotate) rope_rotate(tmp.data(), 1, t, *rope, true);
#pragma omp simd
      for (int64_t i = 0; i < Dh; ++i) dst[i] += tmp[i];
    };
    for (int64_t h = 0; h < d.H; ++h) add_head(row + h * Dh, dq + ((b * d.H + h) * d.T + t) * Dh, rope != nullptr);
    for (int64_t h = 0; h < d.KV; ++h) {
      add_head(row + (d.H + h) * Dh, dk + ((b * d.KV + h) * d.T + t) * Dh, rope != nullptr);
      add_head(row + (d.H + d.KV + h) * Dh, dv + ((b * d.KV + h) * d.T + t) * Dh, false);
    }
  });
}

// ----------------------------------------------------------------------------- batched matmul helper

namespace {

// C[b] (+)= op(A[b]) op(B[b]) for dense row-major per-batch matrices; A is [M, K] ([K, M] when
// trans_a), B is [K, N] ([N, K] when trans_b).
template <class T>
void batched_matmul(const AttentionMatmul& mm, int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N,
                    int64_t K, const T* A, const T* B, T* C, bool accumulate) {
  if constexpr (std::is_same_v<T, float>) {
    const MatrixLayout la = trans_a ? transposed(M, K) : row_major(M, K);
    const MatrixLayout lb = trans_b ? transposed(K, N) : row_major(K, N);
    if (mm.bf16) {
      bf16* a16 = static_cast<bf16*>(mm.workspace);
      bf16* b16 = a16 + batch * M * K;
      float_to_bf16_buffer(a16, A, batch * M * K);
      float_to_bf16_buffer(b16, B, batch * K * N);
      gemm(batch, M, N, K, DType::bf16, a16, la, b16, lb, C, row_major(M, N), accumulate);
    } else {
      gemm(batch, M, N, K, DType::f32, A, la, B, lb, C, row_major(M, N), accumulate);
    }
  } else {
    for (int64_t bi = 0; bi < batch; ++bi) {
      const T* a = A + bi * M * K;
      const T* b = B + bi * K * N;
      T* c = C + bi * M * N;
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          T s = accumulate ? c[i * N + j] : T(0);
          for (int64_t kk = 0; kk < K; ++kk)
            s += (trans_a ? a[kk * M + i] : a[i * K + kk]) * (trans_b ? b[j * K + kk] : b[kk * N + j]);
          c[i * N + j] = s;
        }
    }
  }
}

// In place over one score row of length T whose first `valid` entries are visible:
// row = softmax(scale * row) on the visible part, 0 after it.
template <class T> void causal_softmax_row(T* row, int64_t valid, int64_t T_len, T scale) {
  int64_t j = 0;
#if defined(ROTOR_HAVE_AVX512)
  if constexpr (std::is_same_v<T, float>) {
    __m512 vmax = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (j = 0; j < valid; j += 16) vmax = _mm512_max_ps(vmax, vec::load(row + j, vec::tail_mask(valid - j)));
    const float mx = vec::reduce_max(vmax) * scale;
    const __m512 vs = _mm512_set1_ps(scale), vm = _mm512_set1_ps(mx);
    __m512 vsum = _mm512_setzero_ps();
    for (j = 0; j < valid; j += 16) {
      const __mmask16 m = vec::tail_mask(valid - j);
      const __m512 e = _mm512_maskz_mov_ps(m, vec::exp(_mm512_fmsub_ps(vec::load(row + j, m), vs, vm)));
      vec::store(row + j, e, m);
      vsum = _mm512_add_ps(vsum, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / vec::reduce_add(vsum));
    for (j = 0; j < valid; j += 16) {
      const __mmask16 m = vec::tail_mask(valid - j);
      vec::store(row + j, _mm512_mul_ps(vec::load(row + j, m), inv), m);
    }
    if (valid < T_len) std::memset(row + valid, 0, sizeof(float) * (T_len - valid));
    return;
  }
#endif
  T mx = row[0];
  for (j = 1; j < valid; ++j) mx = std::max(mx, row[j]);
  T sum = 0;
  for (j = 0; j < valid; ++j) {
    row[j] = std::exp((row[j] - mx) * scale);
    sum += row[j];
  }
  const T inv = T(1) / sum;
  for (j = 0; j < valid; ++j) row[j] *= inv;
  for (; j < T_len; ++j) row[j] = 0;
}

// In place: dp <- p * (dp - sum_j dp_j p_j) * scale over the visible part (the rest is 0).
template <class T> void softmax_backward_row(T* dp, const T* p, int64_t valid, int64_t T_len, T scale) {
  T dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int64_t j = 0; j < valid; ++j) dot += dp[j] * p[j];
#pragma omp simd
  for (int64_t j = 0; j < valid; ++j) dp[j] = p[j] * (dp[j] - dot) * scale;
  for (int64_t j = valid; j < T_len; ++j) dp[j] = 0;
}

// [B, H, T, Dh] <-> [B, T, H Dh]
template <class T> void heads_to_rows(T* rows, const T* heads, const AttentionDims& d) {
  parallel_rows(d.B * d.T, d.H * d.Dh, [&](int64_t r) {
    const int64_t b = r / d.T, t = r % d.T;
    for (int64_t h = 0; h < d.H; ++h)
      std::memcpy(rows + r * d.H * d.Dh + h * d.Dh, heads + ((b * d.H + h) * d.T + t) * d.Dh, sizeof(T) * d.Dh);
  });
}
template <class T> void rows_to_heads(T* heads, const T* rows, const AttentionDims& d) {
  parallel_rows(d.B * d.T, d.H * d.Dh, [&](int64_t r) {
    const int64_t b = r / d.T, t = r % d.T;
    for (int64_t h = 0; h < d.H; ++h)
      std::memcpy(heads + ((b * d.H + h) * d.T + t) * d.Dh, rows + r * d.H * d.Dh + h * d.Dh, sizeof(T) * d.Dh);
  });
}

}  // namespace

size_t attention_workspace_bytes(const AttentionDims& d) {
  // the largest A plus the largest B operand of the attention matmuls, in bf16
  const int64_t probs = d.B * d.H * d.T * d.T, heads = d.B * d.H * d.T * d.Dh;
  return size_t(2) * (probs + std::max(heads, probs));
}

// --------------------------------------------------------------------------------- training path

template <class T>
void attention_forward(T* out, T* probs, T* scratch, const T* q, const T* k, const T* v, const AttentionDims& d,
                       const AttentionMatmul& mm) {
  check_attention_dims(d);
  ROTOR_CHECK(!mm.bf16 || mm.workspace, "attention: bf16 matmuls need a workspace");
  const int64_t G = d.group(), T_len = d.T, Dh = d.Dh, batch = d.B * d.KV;
  const T scale = T(1.0 / std::sqrt(double(Dh)));
  // scores[b, kv] [G T, T] = q[b, kv] [G T, Dh] . k[b, kv]^T
  batched_matmul<T>(mm, batch, false, true, G * T_len, T_len, Dh, q, k, probs, false);
  parallel_rows(d.B * d.H * T_len, T_len, [&](int64_t r) {
    const int64_t t = r % T_len;
    causal_softmax_row(probs + r * T_len, t + 1, T_len, scale);
  });
  // y[b, kv] [G T, Dh] = probs [G T, T] . v [T, Dh]
  batched_matmul<T>(mm, batch, false, false, G * T_len, Dh, T_len, probs, v, scratch, false);
  heads_to_rows(out, scratch, d);
}

template <class T>
void attention_backward(T* dq, T* dk, T* dv, T* dprobs, T* scratch, const T* dout, const T* probs, const T* q,
                        const T* k, const T* v, const AttentionDims& d, const AttentionMatmul& mm) {
  check_attention_dims(d);
  ROTOR_CHECK(!mm.bf16 || mm.workspace, "attention: bf16 matmuls need a workspace");
  const int64_t G = d.group(), T_len = d.T, Dh = d.Dh, batch = d.B * d.KV;
  const T scale = T(1.0 / std::sqrt(double(Dh)));
  T* dy = scratch;  // [B, H, T, Dh]
  rows_to_heads(dy, dout, d);
  // dprobs [G T, T] = dy [G T, Dh] . v^T ; dv [T, Dh] += probs^T [T, G T] . dy [G T, Dh]
  batched_matmul<T>(mm, batch, false, true, G * T_len, T_len, Dh, dy, v, dprobs, false);
  batched_matmul<T>(mm, batch, true, false, T_len, Dh, G * T_len, probs, dy, dv, true);
  parallel_rows(d.B * d.H * T_len, 2 * T_len, [&](int64_t r) {
    const int64_t t = r % T_len;
    softmax_backward_row(dprobs + r * T_len, probs + r * T_len, t + 1, T_len, scale);
  });
  // dq [G T, Dh] += dscores [G T, T] . k [T, Dh] ; dk [T, Dh] += dscores^T [T, G T] . q [G T, Dh]
  batched_matmul<T>(mm, batch, false, false, G * T_len, Dh, T_len, dprobs, k, dq, true);
  batched_matmul<T>(mm, batch, true, false, T_len, Dh, G * T_len, dprobs, q, dk, true);
}

// ---------------------------------------------------------------------------------------- decoding

template <class T>
void attention_decode(T* out, const T* q, const T* k_cache, const T* v_cache, int64_t H, int64_t KV, int64_t Dh,
                      int64_t max_T, int64_t pos) {
  ROTOR_CHECK(H % KV == 0 && pos >= 0 && pos < max_T, "attention_decode: position ", pos, " outside the cache of ",
              max_T, " (H=", H, " KV=", KV, ")");
  const int64_t G = H / KV;
  const T scale = T(1.0 / std::sqrt(double(Dh)));
  parallel_rows(H, (pos + 1) * Dh * 2, [&](int64_t h) {
    const T* qh = q + h * Dh;
    const T* kc = k_cache + (h / G) * max_T * Dh;
    const T* vc = v_cache + (h / G) * max_T * Dh;
    T* o = out + h * Dh;
    // online softmax: running max m, running denominator l, running weighted sum in o
    T m = -std::numeric_limits<T>::infinity(), l = 0;
    for (int64_t i = 0; i < Dh; ++i) o[i] = 0;
    for (int64_t j = 0; j <= pos; ++j) {
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < Dh; ++i) s += qh[i] * kc[j * Dh + i];
      s *= scale;
      const T m_new = std::max(m, s);
      const T correction = std::exp(m - m_new), w = std::exp(s - m_new);
      l = l * correction + w;
#pragma omp simd
      for (int64_t i = 0; i < Dh; ++i) o[i] = o[i] * correction + w * vc[j * Dh + i];
      m = m_new;
    }
    const T inv = T(1) / l;
    for (int64_t i = 0; i < Dh; ++i) o[i] *= inv;
  });
}

#define ROTOR_INSTANTIATE(T)                                                                                     \
  template RopeTable<T> make_rope_table<T>(const RopeSpec&, int64_t);                                           \
  template void rope_rotate<T>(T*, int64_t, int64_t, const RopeTable<T>&, bool);                                \
  template void qkv_split_rope_forward<T>(T*, T*, T*, const T*, const AttentionDims&, const RopeTable<T>*);     \
  template void qkv_split_rope_backward<T>(T*, const T*, const T*, const T*, const AttentionDims&,              \
                                           const RopeTable<T>*);                                                \
  template void attention_forward<T>(T*, T*, T*, const T*, const T*, const T*, const AttentionDims&,            \
                                     const AttentionMatmul&);                                                   \
  template void attention_backward<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, const T*, const T*,     \
                                      const AttentionDims&, const AttentionMatmul&);                            \
  template void attention_decode<T>(T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t);
ROTOR_INSTANTIATE(float)
ROTOR_INSTANTIATE(double)
#undef ROTOR_INSTANTIATE

}  // namespace rotor::kernels
