#include "rotor/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include <omp.h>

#include "rotor/core/error.h"
#include "rotor/core/parallel_error.h"
#include "rotor/kernels/attention_fused.h"
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
  t.cos.resize(max_T * pairs);
  t.sin.resize(max_T * pairs);
  if constexpr (std::is_same_v<T, double>) {
    const std::vector<double> inv = rope_inverse_frequencies_f64(spec, max_T);
    const double factor = rope_attention_factor_f64(spec);
    for (int64_t p = 0; p < max_T; ++p)
      for (int64_t i = 0; i < pairs; ++i) {
        t.cos[p * pairs + i] = std::cos(double(p) * inv[i]) * factor;
        t.sin[p * pairs + i] = std::sin(double(p) * inv[i]) * factor;
      }
  } else {
    // the angle in f32 (position * inv_freq), as PyTorch / Hugging Face compute it
    const std::vector<float> inv = rope_inverse_frequencies(spec, max_T);
    const double factor = rope_attention_factor(spec);
    for (int64_t p = 0; p < max_T; ++p)
      for (int64_t i = 0; i < pairs; ++i) {
        const double angle = double(float(p) * inv[i]);
        t.cos[p * pairs + i] = T(std::cos(angle) * factor);
        t.sin[p * pairs + i] = T(std::sin(angle) * factor);
      }
  }
  return t;
}

namespace {
// rope_rotate from `in` into `out` (which may be the same memory).
template <class T>
void rope_rotate_to(T* out, const T* in, int64_t heads, int64_t pos, const RopeTable<T>& rope, bool inverse) {
  const int64_t pairs = rope.rotary_dim / 2, Dh = rope.head_dim;
  const T* c = rope.cos.data() + pos * pairs;
  const T* s = rope.sin.data() + pos * pairs;
  const T sign = inverse ? T(-1) : T(1);
  for (int64_t h = 0; h < heads; ++h) {
    const T* v = in + h * Dh;
    T* o = out + h * Dh;
    if (rope.layout == RopeLayout::half_split) {
#pragma omp simd
      for (int64_t i = 0; i < pairs; ++i) {
        const T x1 = v[i], x2 = v[pairs + i], si = sign * s[i];
        o[i] = x1 * c[i] - x2 * si;
        o[pairs + i] = x1 * si + x2 * c[i];
      }
    } else {
      for (int64_t i = 0; i < pairs; ++i) {
        const T x1 = v[2 * i], x2 = v[2 * i + 1], si = sign * s[i];
        o[2 * i] = x1 * c[i] - x2 * si;
        o[2 * i + 1] = x1 * si + x2 * c[i];
      }
    }
    if (out != in)
      for (int64_t i = 2 * pairs; i < Dh; ++i) o[i] = v[i];  // channels past rotary_dim pass through
  }
}
}  // namespace

template <class T> void rope_rotate(T* x, int64_t heads, int64_t pos, const RopeTable<T>& rope, bool inverse) {
  rope_rotate_to(x, x, heads, pos, rope, inverse);
}

template <class T> void rope_qkv_forward(T* qkv, const AttentionDims& d, const RopeTable<T>& rope) {
  check_attention_dims(d);
  ROTOR_CHECK(rope.max_T >= d.T && rope.head_dim == d.Dh, "attention: rope table for ", rope.max_T,
              " positions of head_dim ", rope.head_dim, " cannot serve T=", d.T, " Dh=", d.Dh);
  const int64_t W = d.qkv_width();
  parallel_rows(d.B * d.T, W, [&](int64_t r) { rope_rotate(qkv + r * W, d.H + d.KV, r % d.T, rope, false); });
}

template <class T> void rope_qkv_backward(T* dqkv, const AttentionDims& d, const RopeTable<T>& rope) {
  check_attention_dims(d);
  const int64_t W = d.qkv_width();
  parallel_rows(d.B * d.T, W, [&](int64_t r) { rope_rotate(dqkv + r * W, d.H + d.KV, r % d.T, rope, true); });
}

namespace {

#if defined(ROTOR_HAVE_AVX512)
// Sixteen pairs of a half-split head: (x1, x2) rotated by the angles whose cos/sin start at c/s, the
// sines times sign (-1 for the inverse rotation).
inline void rotate_pairs16(__m512 x1, __m512 x2, const float* c, const float* s, __m512 sign, __m512& o1,
                           __m512& o2) {
  const __m512 ci = _mm512_loadu_ps(c), si = _mm512_mul_ps(sign, _mm512_loadu_ps(s));
  o1 = _mm512_fmsub_ps(x1, ci, _mm512_mul_ps(x2, si));
  o2 = _mm512_fmadd_ps(x1, si, _mm512_mul_ps(x2, ci));
}
#endif

// One qkv row at position pos: the q and k heads rotated (inverse: by -angle) from src into dst (bf16),
// with float src the other values rounded into dst too, and every written value added into partial when
// not null. With bf16 src, dst is src (rotated in place) and partial is null.
template <class In>
void rope_row_to_bf16(bf16* dst, const In* src, const AttentionDims& d, const RopeTable<float>* rope, int64_t pos,
                      bool inverse, float* partial) {
  const int64_t W = d.qkv_width(), heads = rope ? d.H + d.KV : 0, Dh = d.Dh;
  const bool in_place = static_cast<const void*>(dst) == static_cast<const void*>(src);
  const int64_t pairs = rope ? rope->rotary_dim / 2 : 0;
#if defined(ROTOR_HAVE_AVX512)
  if (rope && rope->layout == RopeLayout::half_split && pairs % 16 == 0) {
    const float* c = rope->cos.data() + pos * pairs;
    const float* s = rope->sin.data() + pos * pairs;
    const __m512 sign = _mm512_set1_ps(inverse ? -1.0f : 1.0f);
    const __mmask16 all = 0xFFFF;
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t a = h * Dh, b = a + pairs;
      for (int64_t i = 0; i < pairs; i += 16) {
        __m512 o1, o2;
        rotate_pairs16(vec::load(src + a + i, all), vec::load(src + b + i, all), c + i, s + i, sign, o1, o2);
        vec::store_bf16(dst + a + i, o1, all);
        vec::store_bf16(dst + b + i, o2, all);
        if (partial) {
          _mm512_storeu_ps(partial + a + i, _mm512_add_ps(_mm512_loadu_ps(partial + a + i), o1));
          _mm512_storeu_ps(partial + b + i, _mm512_add_ps(_mm512_loadu_ps(partial + b + i), o2));
        }
      }
      if (!in_place || partial)  // channels past rotary_dim pass through
        for (int64_t k = a + 2 * pairs; k < a + Dh; k += 16) {
          const __mmask16 m = vec::tail_mask(a + Dh - k);
          const __m512 v = vec::load(src + k, m);
          if (!in_place) vec::store_bf16(dst + k, v, m);
          if (partial) vec::store(partial + k, _mm512_add_ps(vec::load(partial + k, m), v), m);
        }
    }
  } else
#endif
      if (rope) {  // any layout: through a float copy of the rotated heads
    const int64_t rotated = heads * Dh;
    thread_local std::vector<float> buf;
    buf.resize(rotated);
    for (int64_t k = 0; k < rotated; ++k) {
      if constexpr (std::is_same_v<In, bf16>) buf[k] = bf16_to_float(src[k]);
      else buf[k] = src[k];
    }
    rope_rotate(buf.data(), heads, pos, *rope, inverse);
    store_row_bf16(dst, buf.data(), rotated, partial);
  }
  // the v heads (all heads without rope): copied from a float source; a bf16 row is rotated in place
  // (rope_qkv_forward_bf16, no sums) and its v heads stay as they are
  if constexpr (std::is_same_v<In, float>) {
    const int64_t from = heads * Dh;
    store_row_bf16(dst + from, src + from, W - from, partial ? partial + from : nullptr);
  }
}

void check_rope_table(const AttentionDims& d, const RopeTable<float>* rope) {
  check_attention_dims(d);
  if (rope)
    ROTOR_CHECK(rope->max_T >= d.T && rope->head_dim == d.Dh, "attention: rope table for ", rope->max_T,
                " positions of head_dim ", rope->head_dim, " cannot serve T=", d.T, " Dh=", d.Dh);
}
}  // namespace

void rope_qkv_forward_bf16(bf16* qkv16, const AttentionDims& d, const RopeTable<float>& rope) {
  check_rope_table(d, &rope);
  const int64_t W = d.qkv_width();
  parallel_rows(d.B * d.T, W, [&](int64_t r) {
    rope_row_to_bf16(qkv16 + r * W, qkv16 + r * W, d, &rope, r % d.T, false, nullptr);
  });
}

void rope_qkv_backward_prepare_bf16(bf16* dqkv16, float* dbias, const float* dqkv, const AttentionDims& d,
                                    const RopeTable<float>* rope) {
  check_rope_table(d, rope);
  const int64_t W = d.qkv_width();
  auto row = [&](int64_t r, float* partial) {
    rope_row_to_bf16(dqkv16 + r * W, dqkv + r * W, d, rope, r % d.T, true, partial);
  };
  if (dbias) rows_with_column_sums<float>(d.B * d.T, W, W, dbias, row);
  else parallel_rows(d.B * d.T, W, [&](int64_t r) { row(r, nullptr); });
}

// ----------------------------------------------------------------------------- strided matmul helper

namespace {

constexpr int64_t kQueryTile = 64;  // query rows per causal tile

// An operand of the attention matmuls: element offsets are the same for the f32 tensor and for its
// bf16 copy (when the matmuls run in bf16).
template <class T> struct Operand {
  const T* f;
  const bf16* h;  // null unless bf16
  const void* at(int64_t offset) const { return h ? static_cast<const void*>(h + offset) : static_cast<const void*>(f + offset); }
};

// C[b] (+)= A[b] . B[b] over strided layouts (see kernels/matmul.h MatrixLayout).
template <class T>
void strided_matmul(int64_t batch, int64_t M, int64_t N, int64_t K, const Operand<T>& A, int64_t a_off, MatrixLayout la,
                    const Operand<T>& B, int64_t b_off, MatrixLayout lb, T* C, MatrixLayout lc, bool accumulate) {
  if constexpr (std::is_same_v<T, float>) {
    gemm(batch, M, N, K, A.h ? DType::bf16 : DType::f32, A.at(a_off), la, B.at(b_off), lb, C, lc, accumulate);
  } else {
    const T* a = A.f + a_off;
    const T* b = B.f + b_off;
    for (int64_t bi = 0; bi < batch; ++bi)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          T s = 0;
          for (int64_t kk = 0; kk < K; ++kk)
            s += a[bi * la.batch_stride + i * la.row_stride + kk * la.col_stride] *
                 b[bi * lb.batch_stride + kk * lb.row_stride + j * lb.col_stride];
          T& c = C[bi * lc.batch_stride + i * lc.row_stride + j * lc.col_stride];
          c = accumulate ? c + s : s;
        }
  }
}

// In place over one score row whose first `valid` entries are visible: softmax(scale * row) there,
// 0 from `valid` to `end`; also written rounded to row16 when it is not null.
template <class T> void causal_softmax_row(T* row, int64_t valid, int64_t end, T scale, bf16* row16 = nullptr) {
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
      const __m512 p = _mm512_mul_ps(vec::load(row + j, m), inv);
      vec::store(row + j, p, m);
      if (row16) vec::store_bf16(row16 + j, p, m);
    }
    if (valid < end) {
      std::memset(row + valid, 0, sizeof(float) * (end - valid));
      if (row16) std::memset(static_cast<void*>(row16 + valid), 0, sizeof(bf16) * (end - valid));
    }
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
  for (; j < end; ++j) row[j] = 0;
  if constexpr (std::is_same_v<T, float>)
    if (row16)
      for (j = 0; j < end; ++j) row16[j] = float_to_bf16(row[j]);
}

// In place: dp <- p * (dp - sum_j dp_j p_j) * scale over the visible part, 0 from `valid` to `end`;
// with dp16 the result is written (rounded) there only.
template <class T> void softmax_backward_row(T* dp, const T* p, int64_t valid, int64_t end, T scale, bf16* dp16 = nullptr) {
  T dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int64_t j = 0; j < valid; ++j) dot += dp[j] * p[j];
#if defined(ROTOR_HAVE_AVX512)
  if constexpr (std::is_same_v<T, float>)
    if (dp16) {
      const __m512 vd = _mm512_set1_ps(dot), vs = _mm512_set1_ps(scale);
      for (int64_t j = 0; j < valid; j += 16) {
        const __mmask16 m = vec::tail_mask(valid - j);
        const __m512 g = _mm512_mul_ps(_mm512_mul_ps(vec::load(p + j, m), _mm512_sub_ps(vec::load(dp + j, m), vd)), vs);
        vec::store_bf16(dp16 + j, g, m);
      }
      if (valid < end) std::memset(static_cast<void*>(dp16 + valid), 0, sizeof(bf16) * (end - valid));
      return;
    }
#endif
#pragma omp simd
  for (int64_t j = 0; j < valid; ++j) dp[j] = p[j] * (dp[j] - dot) * scale;
  for (int64_t j = valid; j < end; ++j) dp[j] = 0;
  if constexpr (std::is_same_v<T, float>)
    if (dp16)
      for (int64_t j = 0; j < end; ++j) dp16[j] = float_to_bf16(dp[j]);
}


// fn(b, g, t0, rows, keys) for every query tile; last_first visits each (b, g)'s tiles from the last one
// (which sees every key) down to the first.
// The tiles of one batch row run in order (the backward's dk and dv rows add up over them). With
// `by_row`, batch rows run in parallel, one thread each, and their matmuls run on the calling thread
// (oneDNN starts no threads inside an OpenMP region). Otherwise every tile's small products open a
// parallel region of their own inside oneDNN: at the CLIP text tower's shapes (T 24, Dh 16) that is
// thousands of regions of a few microseconds per step, and on a loaded machine each one waits for a
// descheduled partner thread, which made 2 threads many times slower than 1.
template <class Fn> void for_each_tile(const AttentionDims& d, bool by_row, Fn&& fn, bool last_first = false) {
  const int64_t tiles = (d.T + kQueryTile - 1) / kQueryTile;
  FirstError error;
#pragma omp parallel for schedule(static) if (by_row)
  for (int64_t b = 0; b < d.B; ++b)
    error.run([&] {
      for (int64_t g = 0; g < d.group(); ++g)
        for (int64_t i = 0; i < tiles; ++i) {
          const int64_t t0 = (last_first ? tiles - 1 - i : i) * kQueryTile;
          const int64_t rows = std::min(kQueryTile, d.T - t0);
          fn(b, g, t0, rows, t0 + rows);
        }
    });
  error.rethrow();
}

// Whether for_each_tile runs batch rows in parallel: f32 matmuls only (the bf16 ones share one tile
// buffer at the start of probs / dprobs), at least a row per thread, and not already inside a region.
bool tiles_by_row(const AttentionDims& d, bool bf16_matmuls) {
  return !bf16_matmuls && omp_get_max_threads() > 1 && !omp_in_parallel() && d.B >= omp_get_max_threads() &&
         d.B * d.H * d.T * d.T * d.Dh >= kParallelThreshold;
}

}  // namespace

int64_t attention_saved_elements(const AttentionDims& d) {
  // bf16 qkv and probabilities. The fused path keeps only two floats per query row where the probabilities
  // would go, but callers size buffers once for any length up to d.T, which may take the other path.
  return d.B * d.T * d.qkv_width() + d.B * d.H * d.T * d.T;
}

size_t attention_workspace_bytes(const AttentionDims& d) {
  // bf16 copies of qkv, probs, dout and dprobs
  const int64_t probs = d.B * d.H * d.T * d.T;
  return size_t(2) * size_t(d.B * d.T * d.qkv_width() + 2 * probs + d.B * d.T * d.H * d.Dh);
}

// --------------------------------------------------------------------------------- training path
//
// Index map (per batch row b, group index g, kv head as the matmul batch; query head h = kv*G + g):
//   q[b, h, t, :]  = qkv + (b T + t) W + h Dh            rows stride W, matmul batch stride G Dh
//   k[b, kv, t, :] = qkv + (b T + t) W + (H + kv) Dh     rows stride W, batch stride Dh
//   v[b, kv, t, :] = qkv + (b T + t) W + (H + KV + kv) Dh
//   probs[b, h, t, :] = probs + ((b H + h) T + t) T       batch stride G T T
//   out[b, t, h, :]   = out + (b T + t) H Dh + h Dh        batch stride G Dh

namespace {
// One head's gradient block [T, Dh] (row t at position t): rotated back by rope (half-split layout, full
// rotary dimension) when given, rounded into dst (row stride ld), column sums added into sums when not
// null. Returns false, doing nothing, for layouts it does not vectorise.
bool head_block_to_bf16(bf16* dst, int64_t ld, float* sums, const float* block, int64_t T, int64_t Dh,
                        const RopeTable<float>* rope) {
#if defined(ROTOR_HAVE_AVX512)
  constexpr int64_t kMaxVectors = 16;
  if (Dh % 32 != 0 || Dh / 16 > kMaxVectors) return false;
  if (rope && (rope->layout != RopeLayout::half_split || rope->rotary_dim != Dh)) return false;
  const int64_t V = Dh / 16, pairs = Dh / 2;
  const __mmask16 all = 0xFFFF;
  const __m512 minus = _mm512_set1_ps(-1.0f);
  __m512 acc[kMaxVectors];
  for (int64_t k = 0; k < V; ++k) acc[k] = _mm512_setzero_ps();
  for (int64_t t = 0; t < T; ++t) {
    const float* row = block + t * Dh;
    bf16* out = dst + t * ld;
    if (rope) {  // inverse rotation
      const float* c = rope->cos.data() + t * pairs;
      const float* sn = rope->sin.data() + t * pairs;
      for (int64_t i = 0; i < pairs; i += 16) {
        __m512 o1, o2;
        rotate_pairs16(_mm512_loadu_ps(row + i), _mm512_loadu_ps(row + pairs + i), c + i, sn + i, minus, o1, o2);
        vec::store_bf16(out + i, o1, all);
        vec::store_bf16(out + pairs + i, o2, all);
        acc[i / 16] = _mm512_add_ps(acc[i / 16], o1);
        acc[(pairs + i) / 16] = _mm512_add_ps(acc[(pairs + i) / 16], o2);
      }
    } else {
      for (int64_t k = 0; k < V; ++k) {
        const __m512 v = _mm512_loadu_ps(row + 16 * k);
        vec::store_bf16(out + 16 * k, v, all);
        acc[k] = _mm512_add_ps(acc[k], v);
      }
    }
  }
  if (sums)
    for (int64_t k = 0; k < V; ++k) _mm512_storeu_ps(sums + 16 * k, _mm512_add_ps(_mm512_loadu_ps(sums + 16 * k), acc[k]));
  return true;
#else
  (void)dst, (void)ld, (void)sums, (void)block, (void)T, (void)Dh, (void)rope;
  return false;
#endif
}

// The fused bf16 backward delivering d(qkv) as rope_qkv_backward_prepare_bf16 would: each head's block is
// rotated back, rounded into mm.dqkv16 and summed into per-batch-row partial column sums, which are added
// into mm.dqkv_bias in batch order (the same for any thread count).
void fused_backward_to_bf16(const AttentionDims& d, const AttentionMatmul& mm, const bf16* dout16,
                            const float* stats, const bf16* qkv16) {
  check_rope_table(d, mm.rope);
  const int64_t W = d.qkv_width(), rotated_cols = (d.H + d.KV) * d.Dh;
  std::vector<float> partial(mm.dqkv_bias ? d.B * W : 0, 0.0f);
  const HeadGradSink sink = [&](int64_t b, int64_t col, const float* block) {
    float* sums = mm.dqkv_bias ? partial.data() + b * W + col : nullptr;
    const bool rotate = mm.rope && col < rotated_cols;
    if (head_block_to_bf16(mm.dqkv16 + b * d.T * W + col, W, sums, block, d.T, d.Dh, rotate ? mm.rope : nullptr))
      return;
    thread_local std::vector<float> back;  // any other layout: row by row
    back.resize(d.Dh);
    for (int64_t t = 0; t < d.T; ++t) {
      const float* row = block + t * d.Dh;
      if (mm.rope && col < rotated_cols) {
        rope_rotate_to(back.data(), row, 1, t, *mm.rope, true);
        row = back.data();
      }
      store_row_bf16(mm.dqkv16 + (b * d.T + t) * W + col, row, d.Dh, sums);
    }
  };
  fused_attention_backward_bf16(nullptr, dout16, stats, qkv16, d, &sink);
  if (mm.dqkv_bias)
    for (int64_t b = 0; b < d.B; ++b)
      for (int64_t c = 0; c < W; ++c) mm.dqkv_bias[c] += partial[b * W + c];
}
}  // namespace

template <class T>
void attention_forward(T* out, T* probs, const T* qkv, const AttentionDims& d, const AttentionMatmul& mm) {
  check_attention_dims(d);
  const bool bf = std::is_same_v<T, float> && mm.bf16;
  ROTOR_CHECK(!bf || mm.workspace, "attention: bf16 matmuls need a workspace");
  ROTOR_CHECK(bf || !mm.out16, "attention: a bf16 output needs bf16 matmuls");
  const int64_t G = d.group(), T_len = d.T, Dh = d.Dh, H = d.H, KV = d.KV, W = d.qkv_width();
  const T scale = T(1.0 / std::sqrt(double(Dh)));
  bf16* qkv16 = bf ? (mm.saved ? mm.saved : static_cast<bf16*>(mm.workspace)) : nullptr;
  bf16* probs16 = bf ? qkv16 + d.B * T_len * W : nullptr;
  if constexpr (std::is_same_v<T, float>) {
    if (bf) {
      if (!mm.qkv16_ready) float_to_bf16_buffer(qkv16, qkv, d.B * T_len * W);
      if (fused_bf16_attention_supports(d)) {
        fused_attention_forward_bf16(mm.out16 ? nullptr : out, mm.out16, reinterpret_cast<float*>(probs16), qkv16, d);
        return;
      }
    } else if (fused_f32_attention_supports(d)) {  // probs then holds two floats per query row
      fused_attention_forward_f32(out, probs, qkv, d);
      return;
    }
  }
  const Operand<T> QKV{qkv, qkv16}, P{probs, probs16};
  // One query tile at a time (scores, softmax, weighted values) so that its probabilities stay in cache.
  for_each_tile(d, tiles_by_row(d, bf), [&](int64_t b, int64_t g, int64_t t0, int64_t rows, int64_t keys) {
    // scores = q . k^T over the tile's visible keys
    // (with bf16 matmuls the f32 scores of one tile, [KV, rows, T], reuse the start of probs)
    T* scores = bf ? probs : probs + ((b * H + g) * T_len + t0) * T_len;
    const MatrixLayout scores_layout{T_len, 1, bf ? rows * T_len : G * T_len * T_len};
    strided_matmul<T>(KV, rows, keys, Dh, QKV, (b * T_len + t0) * W + g * Dh, {W, 1, G * Dh}, QKV,
                      b * T_len * W + H * Dh, {1, W, Dh}, scores, scores_layout, false);
    // rows of query heads g, g + G, ... (one per key/value head)
    parallel_rows(KV * rows, keys, [&](int64_t i) {
      const int64_t k = i / rows, t = t0 + i % rows, r = (b * H + g + k * G) * T_len + t;
      causal_softmax_row(scores + k * scores_layout.batch_stride + (t - t0) * T_len, t + 1, keys, scale,
                         probs16 ? probs16 + r * T_len : nullptr);
    });
    // out = probs . v
    strided_matmul<T>(KV, rows, Dh, keys, P, ((b * H + g) * T_len + t0) * T_len, {T_len, 1, G * T_len * T_len}, QKV,
                      b * T_len * W + (H + KV) * Dh, {W, 1, Dh}, out + (b * T_len + t0) * H * Dh + g * Dh,
                      {H * Dh, 1, G * Dh}, false);
  });
  if constexpr (std::is_same_v<T, float>)
    if (mm.out16) float_to_bf16_buffer(mm.out16, out, d.B * T_len * H * Dh);
}

template <class T>
void attention_backward(T* dqkv, T* dprobs, const T* dout, const T* probs, const T* qkv, const AttentionDims& d,
                        const AttentionMatmul& mm) {
  check_attention_dims(d);
  const bool bf = std::is_same_v<T, float> && mm.bf16;
  ROTOR_CHECK(!bf || mm.workspace, "attention: bf16 matmuls need a workspace");
  const int64_t G = d.group(), T_len = d.T, Dh = d.Dh, H = d.H, KV = d.KV, W = d.qkv_width();
  const T scale = T(1.0 / std::sqrt(double(Dh)));
  const int64_t n_probs = d.B * H * T_len * T_len;
  bf16* work = bf ? static_cast<bf16*>(mm.workspace) : nullptr;
  bf16* qkv16 = bf ? (mm.saved ? mm.saved : work) : nullptr;
  bf16* probs16 = bf ? qkv16 + d.B * T_len * W : nullptr;
  bf16* dprobs16 = bf ? work + d.B * T_len * W + n_probs : nullptr;
  bf16* dout16 = bf ? (mm.dout16 ? const_cast<bf16*>(mm.dout16) : dprobs16 + n_probs) : nullptr;
  if constexpr (std::is_same_v<T, float>) {
    if (bf) {
      // probs16 is the forward's; so is qkv16 when saved or written by rope_qkv_forward_bf16
      if (!mm.saved && !mm.qkv16_ready) float_to_bf16_buffer(qkv16, qkv, d.B * T_len * W);
      if (!mm.dout16) float_to_bf16_buffer(dout16, dout, d.B * T_len * H * Dh);
      if (fused_bf16_attention_supports(d)) {
        const float* stats = reinterpret_cast<const float*>(probs16);
        if (mm.dqkv16) fused_backward_to_bf16(d, mm, dout16, stats, qkv16);
        else fused_attention_backward_bf16(dqkv, dout16, stats, qkv16, d);
        return;
      }
    } else if (fused_f32_attention_supports(d)) {  // probs holds the forward's row statistics
      fused_attention_backward_f32(dqkv, dout, probs, qkv, d);
      return;
    }
  }
  const Operand<T> QKV{qkv, qkv16}, P{probs, probs16}, DP{dprobs, dprobs16}, DY{dout, dout16};
  const MatrixLayout probs_rows{T_len, 1, G * T_len * T_len}, probs_cols{1, T_len, G * T_len * T_len};
  // Tiles from the last (all keys visible) down, so that the first visit of each key/value head writes
  // its dk and dv rows and later ones add; every query row's dq is written by exactly one tile.
  for_each_tile(d, tiles_by_row(d, bf), [&](int64_t b, int64_t g, int64_t t0, int64_t rows, int64_t keys) {
    const bool first = g == 0 && keys == T_len;
    const int64_t p_off = ((b * H + g) * T_len + t0) * T_len;
    const int64_t dy_off = (b * T_len + t0) * H * Dh + g * Dh;
    // dprobs = dy . v^T
    // (with bf16 matmuls into a [KV, rows, T] tile at the start of dprobs)
    T* dscores = bf ? dprobs : dprobs + p_off;
    const MatrixLayout dscores_layout = bf ? MatrixLayout{T_len, 1, rows * T_len} : probs_rows;
    strided_matmul<T>(KV, rows, keys, Dh, DY, dy_off, {H * Dh, 1, G * Dh}, QKV, b * T_len * W + (H + KV) * Dh,
                      {1, W, Dh}, dscores, dscores_layout, false);
    // dv[0:keys] += probs^T . dy
    strided_matmul<T>(KV, keys, Dh, rows, P, p_off, probs_cols, DY, dy_off, {H * Dh, 1, G * Dh},
                      dqkv + b * T_len * W + (H + KV) * Dh, {W, 1, Dh}, !first);
    // dscores = softmax backward, in place (bf16 copy when the matmuls are bf16), while the tile is in cache
    parallel_rows(KV * rows, 2 * keys, [&](int64_t i) {
      const int64_t k = i / rows, t = t0 + i % rows, r = (b * H + g + k * G) * T_len + t;
      if constexpr (std::is_same_v<T, float>)
        if (bf) {
          softmax_backward_row_bf16(dscores + k * dscores_layout.batch_stride + (t - t0) * T_len,
                                    probs16 + r * T_len, t + 1, keys, scale, dprobs16 + r * T_len);
          return;
        }
      softmax_backward_row(dprobs + r * T_len, probs + r * T_len, t + 1, keys, scale);
    });
    const int64_t q_off = (b * T_len + t0) * W + g * Dh;
    // dq = dscores . k ; dk[0:keys] += dscores^T . q
    strided_matmul<T>(KV, rows, Dh, keys, DP, p_off, probs_rows, QKV, b * T_len * W + H * Dh, {W, 1, Dh},
                      dqkv + q_off, {W, 1, G * Dh}, false);
    strided_matmul<T>(KV, keys, Dh, rows, DP, p_off, probs_cols, QKV, q_off, {W, 1, G * Dh},
                      dqkv + b * T_len * W + H * Dh, {W, 1, Dh}, !first);
  }, /*last_first=*/true);
  if constexpr (std::is_same_v<T, float>)
    if (bf && mm.dqkv16) rope_qkv_backward_prepare_bf16(mm.dqkv16, mm.dqkv_bias, dqkv, d, mm.rope);
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
  template void rope_qkv_forward<T>(T*, const AttentionDims&, const RopeTable<T>&);                             \
  template void rope_qkv_backward<T>(T*, const AttentionDims&, const RopeTable<T>&);                            \
  template void attention_forward<T>(T*, T*, const T*, const AttentionDims&, const AttentionMatmul&);           \
  template void attention_backward<T>(T*, T*, const T*, const T*, const T*, const AttentionDims&,               \
                                      const AttentionMatmul&);                                                  \
  template void attention_decode<T>(T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t);
ROTOR_INSTANTIATE(float)
ROTOR_INSTANTIATE(double)
#undef ROTOR_INSTANTIATE

}  // namespace rotor::kernels
