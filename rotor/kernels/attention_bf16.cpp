#include "rotor/kernels/attention_bf16.h"

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

#if defined(__AVX512BF16__)

bool fused_bf16_attention_supports(const AttentionDims& d) { return d.T % 32 == 0 && d.Dh % 32 == 0; }

namespace {

using namespace pairs;

constexpr int kSoftmaxRows = 4;  // score rows processed together (independent chains in flight)

// Rows t0 .. t0 + 3 of a [T, T] score block (row stride T), row t visible up to t: in place
// s <- exp(scale * s - m) with m = scale * max, and p16 row t = s / sum as bf16 over [0, t], zeros from
// t + 1 to T. stats row t (2 floats) gets m and 1 / sum, from which probs_rows_from_stats recomputes p16.
void softmax_rows_to_bf16(float* s, int64_t t0, int64_t T, float scale, bf16* p16, float* stats) {
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
      vec::store_bf16(p16 + r * T + j, p, __mmask16(0xFFFF));
    }
}

// The same rows' p16 from the scores and the stats softmax_rows_to_bf16 left: bit for bit what it wrote.
void probs_rows_from_stats(const float* s, int64_t t0, int64_t T, float scale, const float* stats, bf16* p16) {
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
      ROTOR_EACH(r, R) vec::store_bf16(p16 + r * T + j, _mm512_setzero_ps(), __mmask16(0xFFFF));
      continue;
    }
    __m512 x[R], e[R];
    ROTOR_EACH(r, R) x[r] = _mm512_fmsub_ps(_mm512_maskz_loadu_ps(mask(r, j), s + r * T + j), vs, vm[r]);
    vec::exp_n<R>(x, e);
    ROTOR_EACH(r, R) vec::store_bf16(p16 + r * T + j, _mm512_maskz_mul_ps(mask(r, j), e[r], inv[r]), __mmask16(0xFFFF));
  }
}

// The softmax backward of the same rows: ds row t = p * (dp - <dp, p>) * scale over [0, t], zeros to T.
void softmax_backward_rows_bf16(const float* dp, const bf16* p, int64_t t0, int64_t T, float scale, bf16* ds) {
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
      dot[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, dp + r * T + j), vec::load_bf16(p + r * T + j, m), dot[r]);
    }
  ROTOR_EACH(r, R) dot[r] = _mm512_set1_ps(vec::reduce_add(dot[r]));
  const __m512 vs = _mm512_set1_ps(scale);
  for (int64_t j = 0; j < T; j += 16)
    ROTOR_EACH(r, R) {
      __m512 g = _mm512_setzero_ps();
      if (j < longest) {
        const __mmask16 m = mask(r, j);
        g = _mm512_mul_ps(_mm512_mul_ps(vec::load_bf16(p + r * T + j, m),
                                        _mm512_sub_ps(_mm512_maskz_loadu_ps(m, dp + r * T + j), dot[r])),
                          vs);
      }
      vec::store_bf16(ds + r * T + j, g, __mmask16(0xFFFF));
    }
}

// Per-thread buffers, grown once.
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
Scratch& scratch(int64_t T, int64_t Dh) {
  thread_local Scratch sc;
  sc.reserve(T, Dh);
  return sc;
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

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
    Scratch& sc = scratch(T, Dh);
    const bf16* rows = qkv16 + b * T * W;
    pack_k_contiguous(sc.b1.data(), rows + (H + kv) * Dh, W, K2, T);           // k^T for the scores
    pack_n_contiguous(sc.b2.data(), rows + (H + KV + kv) * Dh, W, T / 2, Dh);  // v for probs . v
    for (int64_t g = 0; g < G; ++g) {
      const int64_t h = kv * G + g;
      head_scores(sc, rows + h * Dh, W, sc.b1.data(), T, K2);
      float* st = stats + (b * H + h) * T * 2;
      for (int64_t t = 0; t < T; t += kSoftmaxRows)
        softmax_rows_to_bf16(sc.s.data() + t * T, t, T, scale, sc.p.data() + t * T, st + 2 * t);
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
    Scratch& sc = scratch(T, Dh);
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
        softmax_backward_rows_bf16(sc.s.data() + t * T, p + t * T, t, T, scale, sc.ds.data() + t * T);
      // dq = dscores . k over visible keys
      const Left dsl{reinterpret_cast<const uint32_t*>(sc.ds.data()), T / 2, 1};
      pair_gemm(T, dsl, sc.b3.data(), T / 2, q_out(h), ld, false, [&](int64_t i0) {
        return BlockRange{Dh, 0, (i0 + kRows + 1) / 2};
      });
      if (sink) (*sink)(b, h * Dh, sc.dq.data());
      // dk = dscores^T . q and dv = probs^T . dout: key block j0 gets contributions from queries >= j0
      auto from_queries = [&](int64_t j0) { return BlockRange{Dh, j0 / 2, T / 2}; };
      interleave_row_pairs(sc.a1.data(), T, sc.ds.data(), T, T / 2, T);
      pack_n_contiguous(sc.b2.data(), rows + h * Dh, W, T / 2, Dh);
      pair_gemm(T, Left{sc.a1.data(), 1, T}, sc.b2.data(), T / 2, k_out, ld, g > 0, from_queries);
      interleave_row_pairs(sc.a1.data(), T, p, T, T / 2, T);
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

}  // namespace rotor::kernels
