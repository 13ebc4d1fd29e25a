#include "rotor/kernels/attention_fused.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "rotor/core/error.h"
#include "rotor/kernels/pair_gemm.h"
#include "rotor/kernels/parallel_rows.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

void softmax_backward_row_bf16(const float* dp, const bf16* p, int64_t valid, int64_t end, float scale, bf16* dp16) {
#if defined(ROTOR_HAVE_AVX512)
  __m512 vdot = _mm512_setzero_ps();
  for (int64_t j = 0; j < valid; j += 16) {
    const __mmask16 m = vec::tail_mask(valid - j);
    vdot = _mm512_fmadd_ps(vec::load(dp + j, m), vec::load_bf16(p + j, m), vdot);
  }
  const __m512 vd = _mm512_set1_ps(vec::reduce_add(vdot)), vs = _mm512_set1_ps(scale);
  for (int64_t j = 0; j < valid; j += 16) {
    const __mmask16 m = vec::tail_mask(valid - j);
    const __m512 g = _mm512_mul_ps(_mm512_mul_ps(vec::load_bf16(p + j, m), _mm512_sub_ps(vec::load(dp + j, m), vd)), vs);
    vec::store_bf16(dp16 + j, g, m);
  }
#else
  float dot = 0;
  for (int64_t j = 0; j < valid; ++j) dot += dp[j] * bf16_to_float(p[j]);
  for (int64_t j = 0; j < valid; ++j) dp16[j] = float_to_bf16(bf16_to_float(p[j]) * (dp[j] - dot) * scale);
#endif
  if (valid < end) std::memset(static_cast<void*>(dp16 + valid), 0, sizeof(bf16) * (end - valid));
}

#if defined(ROTOR_HAVE_AVX512)
namespace {

// The calling thread's buffers (grown once) of a fused attention path.
template <class Scratch>
Scratch& thread_scratch(int64_t T, int64_t Dh) {
  thread_local Scratch sc;
  sc.reserve(T, Dh);
  return sc;
}

constexpr int kSoftmaxRows = 4;  // score rows processed together (independent chains in flight)

// 16 values of a probability (or score-gradient) row: f32, or rounded to bf16.
inline void store_row(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
inline void store_row(bf16* p, __m512 v) { vec::store_bf16(p, v, __mmask16(0xFFFF)); }

// Rows t0 .. t0 + 3 of a [T, T] score block (row stride T), row t visible up to t: in place
// s <- exp(scale * s - m) with m = scale * max, and p16 row t = s / sum (f32 or bf16) over [0, t], zeros
// from t + 1 to T. stats row t (2 floats) gets m and 1 / sum, from which probs_rows_from_stats recomputes p16.
template <class P>
void softmax_rows_to(float* s, int64_t t0, int64_t T, float scale, P* p16, float* stats) {
  constexpr int R = kSoftmaxRows;
  const int64_t longest = t0 + R;
  auto mask = [&](int r, int64_t j) {
    const int64_t left = t0 + r + 1 - j;
    return left > 0 ? vec::tail_mask(left) : __mmask16(0);
  };
  __m512 mx[R], sum[R], vm[R], inv[R];
  ROTOR_EACH(r, R) mx[r] = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < longest; j += 16)
    ROTOR_EACH(r, R) mx[r] = _mm512_mask_max_ps(mx[r], mask(r, j), mx[r], _mm512_loadu_ps(s + r * T + j));
  const __m512 vs = _mm512_set1_ps(scale);
  ROTOR_EACH(r, R) {
    stats[2 * r] = vec::reduce_max(mx[r]) * scale;
    vm[r] = _mm512_set1_ps(stats[2 * r]);
    sum[r] = _mm512_setzero_ps();
  }
  for (int64_t j = 0; j < longest; j += 16) {
    __m512 x[R], e[R];
    ROTOR_EACH(r, R) x[r] = _mm512_fmsub_ps(_mm512_maskz_loadu_ps(mask(r, j), s + r * T + j), vs, vm[r]);
    vec::exp_n<R>(x, e);
    ROTOR_EACH(r, R) {
      e[r] = _mm512_maskz_mov_ps(mask(r, j), e[r]);
      _mm512_storeu_ps(s + r * T + j, e[r]);
      sum[r] = _mm512_add_ps(sum[r], e[r]);
    }
  }
  ROTOR_EACH(r, R) {
    stats[2 * r + 1] = 1.0f / vec::reduce_add(sum[r]);
    inv[r] = _mm512_set1_ps(stats[2 * r + 1]);
  }
  for (int64_t j = 0; j < T; j += 16)
    ROTOR_EACH(r, R) {
      const __m512 p = j < longest ? _mm512_mul_ps(_mm512_maskz_loadu_ps(mask(r, j), s + r * T + j), inv[r])
                                   : _mm512_setzero_ps();
      store_row(p16 + r * T + j, p);
    }
}

// The same rows' p16 from the scores and the stats softmax_rows_to_bf16 left: bit for bit what it wrote.
template <class P>
void probs_rows_from_stats(const float* s, int64_t t0, int64_t T, float scale, const float* stats, P* p16) {
  constexpr int R = kSoftmaxRows;
  const int64_t longest = t0 + R;
  auto mask = [&](int r, int64_t j) {
    const int64_t left = t0 + r + 1 - j;
    return left > 0 ? vec::tail_mask(left) : __mmask16(0);
  };
  const __m512 vs = _mm512_set1_ps(scale);
  __m512 vm[R], inv[R];
  ROTOR_EACH(r, R) {
    vm[r] = _mm512_set1_ps(stats[2 * r]);
    inv[r] = _mm512_set1_ps(stats[2 * r + 1]);
  }
  for (int64_t j = 0; j < T; j += 16) {
    if (j >= longest) {
      ROTOR_EACH(r, R) store_row(p16 + r * T + j, _mm512_setzero_ps());
      continue;
    }
    __m512 x[R], e[R];
    ROTOR_EACH(r, R) x[r] = _mm512_fmsub_ps(_mm512_maskz_loadu_ps(mask(r, j), s + r * T + j), vs, vm[r]);
    vec::exp_n<R>(x, e);
    ROTOR_EACH(r, R) store_row(p16 + r * T + j, _mm512_maskz_mul_ps(mask(r, j), e[r], inv[r]));
  }
}

// The softmax backward of the same rows: ds row t = p * (dp - <dp, p>) * scale over [0, t], zeros to T.
template <class P>
void softmax_backward_rows(const float* dp, const P* p, int64_t t0, int64_t T, float scale, P* ds) {
  constexpr int R = kSoftmaxRows;
  const int64_t longest = t0 + R;
  auto mask = [&](int r, int64_t j) {
    const int64_t left = t0 + r + 1 - j;
    return left > 0 ? vec::tail_mask(left) : __mmask16(0);
  };
  __m512 dot[R];
  ROTOR_EACH(r, R) dot[r] = _mm512_setzero_ps();
  for (int64_t j = 0; j < longest; j += 16)
    ROTOR_EACH(r, R) {
      const __mmask16 m = mask(r, j);
      dot[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, dp + r * T + j), vec::load(p + r * T + j, m), dot[r]);
    }
  ROTOR_EACH(r, R) dot[r] = _mm512_set1_ps(vec::reduce_add(dot[r]));
  const __m512 vs = _mm512_set1_ps(scale);
  for (int64_t j = 0; j < T; j += 16)
    ROTOR_EACH(r, R) {
      __m512 g = _mm512_setzero_ps();
      if (j < longest) {
        const __mmask16 m = mask(r, j);
        g = _mm512_mul_ps(_mm512_mul_ps(vec::load(p + r * T + j, m),
                                        _mm512_sub_ps(_mm512_maskz_loadu_ps(m, dp + r * T + j), dot[r])),
                          vs);
      }
      store_row(ds + r * T + j, g);
    }
}


}  // namespace
#endif

#if defined(__AVX512BF16__)

bool fused_bf16_attention_supports(const AttentionDims& d) { return d.T % 32 == 0 && d.Dh % 32 == 0; }

namespace {

using namespace pairs;

// Per-thread buffers of the bf16 path.
struct Scratch {
  std::vector<uint32_t> b1, b2, b3, b4, a1;  // packed right operands, interleaved left operand
  std::vector<float> s;                  // [T, T] scores / probability gradients
  std::vector<bf16> p, ds;               // [T, T] probabilities and score gradients of one head
  std::vector<float> dq, dk, dv;         // [T, Dh] head gradients handed to a sink
  void reserve(int64_t T, int64_t Dh) {
    for (auto* v : {&dq, &dk, &dv}) v->resize(T * Dh);
    for (auto* v : {&b1, &b2, &b3, &b4}) v->resize(T * Dh / 2);
    a1.resize(T * T / 2);
    s.resize(T * T);
    p.resize(T * T);
    ds.resize(T * T);
  }
};

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// dst [T/2, T] (words) = the row pairs of src [T, T] interleaved, as the dk and dv products read them: a
// key block i0 .. i0 + 7 takes the query pairs k2 >= i0 / 2, so pair row k2 is read up to column 2 k2 + 7
// and only that much (rounded up to 32 columns) is interleaved; src is zero right of the diagonal.
void causal_row_pairs(uint32_t* dst, const bf16* src, int64_t T) {
  for (int64_t k2 = 0; k2 < T / 2; ++k2)
    interleave_row_pairs(dst + k2 * T, T, src + 2 * k2 * T, T, 1, std::min(T, round_up(2 * k2 + kRows, 32)));
}

// scores [T, T] (f32, into sc.s) = q . k^T for one head, only the key panels a query block can see;
// kt: k^T packed by pack_k_contiguous.
void head_scores(Scratch& sc, const bf16* q, int64_t ld, const uint32_t* kt, int64_t T, int64_t K2) {
  const Left ql{reinterpret_cast<const uint32_t*>(q), ld / 2, 1};
  pair_gemm(T, ql, kt, K2, sc.s.data(), T, false, [&](int64_t i0) {
    return BlockRange{round_up(i0 + kRows, 32), 0, K2};
  });
}

}  // namespace

void fused_attention_forward_bf16(float* out, bf16* out16, float* stats, const bf16* qkv16, const AttentionDims& d) {
  ROTOR_CHECK(fused_bf16_attention_supports(d), "attention: the fused bf16 path needs T and Dh multiples of 32");
  ROTOR_CHECK((out != nullptr) != (out16 != nullptr), "attention: give exactly one of the f32 and bf16 outputs");
  const int64_t T = d.T, Dh = d.Dh, H = d.H, KV = d.KV, G = d.group(), W = d.qkv_width(), K2 = Dh / 2;
  const float scale = float(1.0 / std::sqrt(double(Dh)));
  parallel_rows(d.B * KV, T * T * Dh, [&](int64_t task) {
    const int64_t b = task / KV, kv = task % KV;
    Scratch& sc = thread_scratch<Scratch>(T, Dh);
    const bf16* rows = qkv16 + b * T * W;
    pack_k_contiguous(sc.b1.data(), rows + (H + kv) * Dh, W, K2, T);           // k^T for the scores
    pack_n_contiguous(sc.b2.data(), rows + (H + KV + kv) * Dh, W, T / 2, Dh);  // v for probs . v
    for (int64_t g = 0; g < G; ++g) {
      const int64_t h = kv * G + g;
      head_scores(sc, rows + h * Dh, W, sc.b1.data(), T, K2);
      float* st = stats + (b * H + h) * T * 2;
      for (int64_t t = 0; t < T; t += kSoftmaxRows)
        softmax_rows_to(sc.s.data() + t * T, t, T, scale, sc.p.data() + t * T, st + 2 * t);
      // out = probs . v over the keys a query block can see
      const Left pl{reinterpret_cast<const uint32_t*>(sc.p.data()), T / 2, 1};
      auto visible = [&](int64_t i0) { return BlockRange{Dh, 0, (i0 + kRows + 1) / 2}; };
      const int64_t at = b * T * H * Dh + h * Dh;
      if (out16) pair_gemm(T, pl, sc.b2.data(), T / 2, out16 + at, H * Dh, false, visible);
      else pair_gemm(T, pl, sc.b2.data(), T / 2, out + at, H * Dh, false, visible);
    }
  });
}

void fused_attention_backward_bf16(float* dqkv, const bf16* dout16, const float* stats, const bf16* qkv16,
                                   const AttentionDims& d, const HeadGradSink* sink) {
  ROTOR_CHECK(fused_bf16_attention_supports(d), "attention: the fused bf16 path needs T and Dh multiples of 32");
  const int64_t T = d.T, Dh = d.Dh, H = d.H, KV = d.KV, G = d.group(), W = d.qkv_width(), K2 = Dh / 2;
  const float scale = float(1.0 / std::sqrt(double(Dh)));
  parallel_rows(d.B * KV, 3 * T * T * Dh, [&](int64_t task) {
    const int64_t b = task / KV, kv = task % KV;
    Scratch& sc = thread_scratch<Scratch>(T, Dh);
    const bf16* rows = qkv16 + b * T * W;
    float* drows = sink ? nullptr : dqkv + b * T * W;
    // where each head's gradient goes: into dqkv's columns, or [T, Dh] thread buffers for the sink
    const int64_t ld = sink ? Dh : W;
    auto q_out = [&](int64_t h) { return sink ? sc.dq.data() : drows + h * Dh; };
    float* k_out = sink ? sc.dk.data() : drows + (H + kv) * Dh;
    float* v_out = sink ? sc.dv.data() : drows + (H + KV + kv) * Dh;
    pack_k_contiguous(sc.b4.data(), rows + (H + kv) * Dh, W, K2, T);      // k^T for the scores again
    pack_n_contiguous(sc.b3.data(), rows + (H + kv) * Dh, W, T / 2, Dh);  // k for dq = dscores . k
    pack_k_contiguous(sc.b1.data(), rows + (H + KV + kv) * Dh, W, K2, T);  // v^T for dprobs = dout . v^T
    for (int64_t g = 0; g < G; ++g) {
      const int64_t h = kv * G + g;
      const bf16* dy = dout16 + b * T * H * Dh + h * Dh;
      // the forward's probabilities, recomputed from the scores and the saved row statistics
      head_scores(sc, rows + h * Dh, W, sc.b4.data(), T, K2);
      const float* st = stats + (b * H + h) * T * 2;
      for (int64_t t = 0; t < T; t += kSoftmaxRows)
        probs_rows_from_stats(sc.s.data() + t * T, t, T, scale, st + 2 * t, sc.p.data() + t * T);
      const bf16* p = sc.p.data();
      // dprobs = dout . v^T, then dscores (bf16, scale folded in)
      head_scores(sc, dy, H * Dh, sc.b1.data(), T, K2);
      for (int64_t t = 0; t < T; t += kSoftmaxRows)
        softmax_backward_rows(sc.s.data() + t * T, p + t * T, t, T, scale, sc.ds.data() + t * T);
      // dq = dscores . k over visible keys
      const Left dsl{reinterpret_cast<const uint32_t*>(sc.ds.data()), T / 2, 1};
      pair_gemm(T, dsl, sc.b3.data(), T / 2, q_out(h), ld, false, [&](int64_t i0) {
        return BlockRange{Dh, 0, (i0 + kRows + 1) / 2};
      });
      if (sink) (*sink)(b, h * Dh, sc.dq.data());
      // dk = dscores^T . q and dv = probs^T . dout: key block j0 gets contributions from queries >= j0
      auto from_queries = [&](int64_t j0) { return BlockRange{Dh, j0 / 2, T / 2}; };
      causal_row_pairs(sc.a1.data(), sc.ds.data(), T);
      pack_n_contiguous(sc.b2.data(), rows + h * Dh, W, T / 2, Dh);
      pair_gemm(T, Left{sc.a1.data(), 1, T}, sc.b2.data(), T / 2, k_out, ld, g > 0, from_queries);
      causal_row_pairs(sc.a1.data(), p, T);
      pack_n_contiguous(sc.b2.data(), dy, H * Dh, T / 2, Dh);
      pair_gemm(T, Left{sc.a1.data(), 1, T}, sc.b2.data(), T / 2, v_out, ld, g > 0, from_queries);
    }
    if (sink) {
      (*sink)(b, (H + kv) * Dh, sc.dk.data());
      (*sink)(b, (H + KV + kv) * Dh, sc.dv.data());
    }
  });
}

#else  // no AVX512-BF16 in this build: the oneDNN path serves every shape

bool fused_bf16_attention_supports(const AttentionDims&) { return false; }

void fused_attention_forward_bf16(float*, bf16*, float*, const bf16*, const AttentionDims&) {
  throw Error("attention: the fused bf16 path needs a build with AVX512-BF16");
}

void fused_attention_backward_bf16(float*, const bf16*, const float*, const bf16*, const AttentionDims&,
                                   const HeadGradSink*) {
  throw Error("attention: the fused bf16 path needs a build with AVX512-BF16");
}

#endif


// ------------------------------------------------------------------------------------------ f32
#if defined(ROTOR_HAVE_AVX512)

bool fused_f32_attention_supports(const AttentionDims& d) { return d.T % 32 == 0 && d.Dh % 32 == 0; }

namespace {

constexpr int64_t kBlockRows = 8;  // rows of C per register block (8 x 32 accumulators in 16 registers)

// C[8, 32] (=, or += with accumulate) = sum over k in [k0, k1) of A(i, k) B(k, n), with A(i, k) at
// a[i * a_row + k * a_k] and B(k, n) at b[k * b_row + n]: f32 FMAs, the same blocking as pair_gemm.h.
__attribute__((noinline)) void block_f32(const float* a, int64_t a_row, int64_t a_k, const float* b, int64_t b_row,
                                         int64_t k0, int64_t k1, float* c, int64_t ldc, bool accumulate) {
  __m512 acc[kBlockRows][2];
#pragma GCC unroll 8
  for (int i = 0; i < kBlockRows; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t k = k0; k < k1; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b + k * b_row), b1 = _mm512_loadu_ps(b + k * b_row + 16);
    const float* ak = a + k * a_k;
#pragma GCC unroll 8
    for (int i = 0; i < kBlockRows; ++i) {
      const __m512 av = _mm512_set1_ps(ak[i * a_row]);
      acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < kBlockRows; ++i) {
    float* ci = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(ci));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, acc[i][0]);
    _mm512_storeu_ps(ci + 16, acc[i][1]);
  }
}

// dst [Dh, T] (row stride T) = the transpose of src [T, Dh] (row stride ld); T and Dh multiples of 16.
void transpose_head(float* dst, const float* src, int64_t ld, int64_t T, int64_t Dh) {
  vec::transpose_block(reinterpret_cast<uint32_t*>(dst), T, reinterpret_cast<const uint32_t*>(src), ld, T, Dh);
}

struct ScratchF32 {
  std::vector<float> kt, vt;  // [Dh, T] k^T and v^T of one key/value head
  std::vector<float> s, p;    // [T, T] scores (then probability gradients) and probabilities of one head
  void reserve(int64_t T, int64_t Dh) {
    kt.resize(Dh * T);
    vt.resize(Dh * T);
    s.resize(T * T);
    p.resize(T * T);
  }
};

// C [T, T] = left [T, Dh] (row stride ld) . right^T, right^T given as [Dh, T] (row stride T): only the
// 32-column panels a block of 8 query rows can see.
void causal_scores(float* c, const float* left, int64_t ld, const float* right_t, int64_t T, int64_t Dh) {
  for (int64_t i0 = 0; i0 < T; i0 += kBlockRows)
    for (int64_t n0 = 0; n0 < i0 + kBlockRows; n0 += 32)
      block_f32(left + i0 * ld, ld, 1, right_t + n0, T, 0, Dh, c + i0 * T + n0, T, false);
}

// C [T, Dh] (row stride ldc) (=, or +=) = P [T, T] . right [T, Dh] (row stride ld) over the keys each
// block of 8 query rows can see (P is zero beyond them).
void probs_times(float* c, int64_t ldc, const float* P, const float* right, int64_t ld, int64_t T, int64_t Dh,
                 bool accumulate) {
  for (int64_t i0 = 0; i0 < T; i0 += kBlockRows)
    for (int64_t n0 = 0; n0 < Dh; n0 += 32)
      block_f32(P + i0 * T, T, 1, right + n0, ld, 0, i0 + kBlockRows, c + i0 * ldc + n0, ldc, accumulate);
}

// C [T, Dh] (=, or +=) = P^T [T, T] . right [T, Dh]: key block j0 takes the queries t >= j0.
void probs_t_times(float* c, int64_t ldc, const float* P, const float* right, int64_t ld, int64_t T, int64_t Dh,
                   bool accumulate) {
  for (int64_t j0 = 0; j0 < T; j0 += kBlockRows)
    for (int64_t n0 = 0; n0 < Dh; n0 += 32)
      block_f32(P + j0, 1, T, right + n0, ld, j0, T, c + j0 * ldc + n0, ldc, accumulate);
}

}  // namespace

void fused_attention_forward_f32(float* out, float* stats, const float* qkv, const AttentionDims& d) {
  ROTOR_CHECK(fused_f32_attention_supports(d), "attention: the fused f32 path needs T and Dh multiples of 32");
  const int64_t T = d.T, Dh = d.Dh, H = d.H, KV = d.KV, G = d.group(), W = d.qkv_width();
  const float scale = float(1.0 / std::sqrt(double(Dh)));
  parallel_rows(d.B * KV, T * T * Dh, [&](int64_t task) {
    const int64_t b = task / KV, kv = task % KV;
    ScratchF32& sc = thread_scratch<ScratchF32>(T, Dh);
    const float* rows = qkv + b * T * W;
    transpose_head(sc.kt.data(), rows + (H + kv) * Dh, W, T, Dh);
    for (int64_t g = 0; g < G; ++g) {
      const int64_t h = kv * G + g;
      causal_scores(sc.s.data(), rows + h * Dh, W, sc.kt.data(), T, Dh);
      float* st = stats + (b * H + h) * T * 2;
      for (int64_t t = 0; t < T; t += kSoftmaxRows)
        softmax_rows_to(sc.s.data() + t * T, t, T, scale, sc.p.data() + t * T, st + 2 * t);
      probs_times(out + b * T * H * Dh + h * Dh, H * Dh, sc.p.data(), rows + (H + KV + kv) * Dh, W, T, Dh, false);
    }
  });
}

void fused_attention_backward_f32(float* dqkv, const float* dout, const float* stats, const float* qkv,
                                  const AttentionDims& d) {
  ROTOR_CHECK(fused_f32_attention_supports(d), "attention: the fused f32 path needs T and Dh multiples of 32");
  const int64_t T = d.T, Dh = d.Dh, H = d.H, KV = d.KV, G = d.group(), W = d.qkv_width();
  const float scale = float(1.0 / std::sqrt(double(Dh)));
  parallel_rows(d.B * KV, 3 * T * T * Dh, [&](int64_t task) {
    const int64_t b = task / KV, kv = task % KV;
    ScratchF32& sc = thread_scratch<ScratchF32>(T, Dh);
    const float* rows = qkv + b * T * W;
    float* drows = dqkv + b * T * W;
    const float* k = rows + (H + kv) * Dh;
    const float* v = rows + (H + KV + kv) * Dh;
    transpose_head(sc.kt.data(), k, W, T, Dh);
    transpose_head(sc.vt.data(), v, W, T, Dh);
    for (int64_t g = 0; g < G; ++g) {
      const int64_t h = kv * G + g;
      const float* q = rows + h * Dh;
      const float* dy = dout + b * T * H * Dh + h * Dh;
      // the forward's probabilities, recomputed bit for bit from the scores and the saved row statistics
      causal_scores(sc.s.data(), q, W, sc.kt.data(), T, Dh);
      const float* st = stats + (b * H + h) * T * 2;
      for (int64_t t = 0; t < T; t += kSoftmaxRows)
        probs_rows_from_stats(sc.s.data() + t * T, t, T, scale, st + 2 * t, sc.p.data() + t * T);
      // dv (+)= probs^T . dout
      probs_t_times(drows + (H + KV + kv) * Dh, W, sc.p.data(), dy, H * Dh, T, Dh, g > 0);
      // dprobs = dout . v^T, then dscores in place of the probabilities (scale folded in)
      causal_scores(sc.s.data(), dy, H * Dh, sc.vt.data(), T, Dh);
      for (int64_t t = 0; t < T; t += kSoftmaxRows)
        softmax_backward_rows(sc.s.data() + t * T, sc.p.data() + t * T, t, T, scale, sc.p.data() + t * T);
      // dq = dscores . k; dk (+)= dscores^T . q
      probs_times(drows + h * Dh, W, sc.p.data(), k, W, T, Dh, false);
      probs_t_times(drows + (H + kv) * Dh, W, sc.p.data(), q, W, T, Dh, g > 0);
    }
  });
}

#else  // no AVX-512 in this build: the oneDNN path serves every shape

bool fused_f32_attention_supports(const AttentionDims&) { return false; }

void fused_attention_forward_f32(float*, float*, const float*, const AttentionDims&) {
  throw Error("attention: the fused f32 path needs a build with AVX-512");
}

void fused_attention_backward_f32(float*, const float*, const float*, const float*, const AttentionDims&) {
  throw Error("attention: the fused f32 path needs a build with AVX-512");
}

#endif

}  // namespace rotor::kernels
