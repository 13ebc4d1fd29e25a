#pragma once
// The one implementation of exp, tanh and sigmoid in float for every kernel, and AVX-512 building blocks
// (erf, masked and bf16 loads/stores, reductions).
//
// Each function is written once, as a template over the lane type L: `float` (the scalar path, which
// GCC vectorises under `#pragma omp simd`; the glibc functions block that) or `__m512` (16 floats, explicit
// AVX-512), and over U independent values whose steps are interleaved so that U dependency chains are in
// flight (one exp is a chain of ~15 dependent FMAs: latency-bound alone). The lane primitives below do
// the same IEEE operation on either lane type, so the scalar and vector results are equal bit for bit
// (tests/kernels/vector_math_test.cpp checks a dense sweep including denormal outputs, +-inf and NaN).
//
// exp: x is clamped to [-104, 88.8] (outside it the result is 0 or +inf), n = round-to-nearest(x log2 e),
// r = x - n ln2 (ln2 split in two, fused multiply-adds), e^r by its degree-7 Taylor polynomial, times 2^n
// with a single rounding (denormal results included). Within 1 ulp of the true value (0.87 measured);
// exp(-inf) = 0, exp(+inf) = inf, NaN propagates.
// tanh: the odd Taylor series for |x| < 0.05, else 1 - 2 / (e^{2x} + 1): within 2e-7 absolute.
// sigmoid: 1 / (1 + e^{-x}), within 3 ulp. erf (AVX-512 only): Abramowitz-Stegun 7.1.26 with a refined
// reciprocal, within 6e-7 absolute.
// Double-precision callers use std:: (see math_of<T>).
#include <bit>
#include <cmath>
#include <cstdint>

#include "rotor/core/dtype.h"
#include "rotor/core/transpose16.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#define ROTOR_HAVE_AVX512 1
#endif

// GCC 12 reports the masked-load intrinsics' pass-through operand as maybe-uninitialized (a false
// positive in its own headers, also as -Wuninitialized once the helpers are inlined into unrolled loops); silence it for the translation units that use these helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace rotor::kernels::vec {

#define ROTOR_EACH(u, U) _Pragma("GCC unroll 8") for (int u = 0; u < (U); ++u)
#define ROTOR_LANE_INLINE __attribute__((always_inline)) inline

// ---- lane primitives: one IEEE operation each, on float or on 16 floats ----
namespace lane {

template <class L> L splat(float c);
template <> ROTOR_LANE_INLINE float splat<float>(float c) { return c; }

ROTOR_LANE_INLINE float add(float a, float b) { return a + b; }
ROTOR_LANE_INLINE float sub(float a, float b) { return a - b; }
ROTOR_LANE_INLINE float mul(float a, float b) { return a * b; }
ROTOR_LANE_INLINE float div(float a, float b) { return a / b; }
#if defined(__FMA__)
ROTOR_LANE_INLINE float fmadd(float a, float b, float c) { return std::fma(a, b, c); }    // a b + c
ROTOR_LANE_INLINE float fnmadd(float a, float b, float c) { return std::fma(-a, b, c); }  // c - a b
#else  // no vector path to agree with; avoid the slow software fma
ROTOR_LANE_INLINE float fmadd(float a, float b, float c) { return a * b + c; }
ROTOR_LANE_INLINE float fnmadd(float a, float b, float c) { return c - a * b; }
#endif
// x86 max/min: the second operand when either is NaN (so max(c, x) propagates a NaN x)
ROTOR_LANE_INLINE float max(float a, float b) { return a > b ? a : b; }
ROTOR_LANE_INLINE float min(float a, float b) { return a < b ? a : b; }
ROTOR_LANE_INLINE float abs(float a) { return std::fabs(a); }
ROTOR_LANE_INLINE float round_nearest(float a) { return std::nearbyint(a); }  // ties to even
ROTOR_LANE_INLINE float select_less(float a, float b, float if_less, float otherwise) {
  return a < b ? if_less : otherwise;
}
// p 2^n for integral n in [-150, 128] and p in [0.7, 1.42], rounded once (as AVX-512's scalef): 2^n is
// split into 2^k1 2^k2 with k1, k2 in [-75, 64], so that p 2^k1 is exact and normal and only the second
// product rounds (to a denormal, or overflowing to inf). n's integer comes from the bits of n + 1.5 2^23
// (no float-to-int conversion, which a NaN would make undefined; the NaN p makes the result NaN).
ROTOR_LANE_INLINE float scale_pow2(float p, float n) {
  const int32_t k = std::bit_cast<int32_t>(n + 12582912.0f) - 0x4B400000;
  const int32_t k1 = k >> 1, k2 = k - k1;
  return p * std::bit_cast<float>((k1 + 127) << 23) * std::bit_cast<float>((k2 + 127) << 23);
}

#if defined(ROTOR_HAVE_AVX512)
template <> ROTOR_LANE_INLINE __m512 splat<__m512>(float c) { return _mm512_set1_ps(c); }
ROTOR_LANE_INLINE __m512 add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
ROTOR_LANE_INLINE __m512 sub(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); }
ROTOR_LANE_INLINE __m512 mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
ROTOR_LANE_INLINE __m512 div(__m512 a, __m512 b) { return _mm512_div_ps(a, b); }
ROTOR_LANE_INLINE __m512 fmadd(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
ROTOR_LANE_INLINE __m512 fnmadd(__m512 a, __m512 b, __m512 c) { return _mm512_fnmadd_ps(a, b, c); }
ROTOR_LANE_INLINE __m512 max(__m512 a, __m512 b) { return _mm512_max_ps(a, b); }
ROTOR_LANE_INLINE __m512 min(__m512 a, __m512 b) { return _mm512_min_ps(a, b); }
ROTOR_LANE_INLINE __m512 abs(__m512 a) { return _mm512_abs_ps(a); }
ROTOR_LANE_INLINE __m512 round_nearest(__m512 a) {
  return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
ROTOR_LANE_INLINE __m512 select_less(__m512 a, __m512 b, __m512 if_less, __m512 otherwise) {
  return _mm512_mask_mov_ps(otherwise, _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), if_less);
}
ROTOR_LANE_INLINE __m512 scale_pow2(__m512 p, __m512 n) { return _mm512_scalef_ps(p, n); }
#endif

}  // namespace lane

// ---- the functions, written once ----

// out[u] = e^x[u], u < U.
template <int U, class L>
ROTOR_LANE_INLINE void exp_n(const L* x_in, L* out) {
  using namespace lane;
  const L log2e = splat<L>(1.44269504088896341f), ln2_hi = splat<L>(0.693359375f),
          ln2_lo = splat<L>(-2.12194440e-4f);
  L x[U], n[U], r[U], p[U];
  ROTOR_EACH(u, U) {
    x[u] = min(splat<L>(88.8f), max(splat<L>(-104.0f), x_in[u]));
    n[u] = round_nearest(mul(x[u], log2e));
  }
  ROTOR_EACH(u, U) r[u] = fnmadd(n[u], ln2_lo, fnmadd(n[u], ln2_hi, x[u]));  // |r| <= ln2/2
  ROTOR_EACH(u, U) p[u] = fmadd(splat<L>(1.0f / 5040.0f), r[u], splat<L>(1.0f / 720.0f));
  constexpr float kC[] = {1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f};
#pragma GCC unroll 6
  for (int k = 0; k < 6; ++k) {
    const L vc = splat<L>(kC[k]);
    ROTOR_EACH(u, U) p[u] = fmadd(p[u], r[u], vc);
  }
  ROTOR_EACH(u, U) out[u] = scale_pow2(p[u], n[u]);
}

// out[u] = tanh(x[u]).
template <int U, class L>
ROTOR_LANE_INLINE void tanh_n(const L* x, L* out) {
  using namespace lane;
  L two_x[U], e[U];
  ROTOR_EACH(u, U) two_x[u] = add(x[u], x[u]);
  exp_n<U>(two_x, e);
  const L one = splat<L>(1.0f);
  ROTOR_EACH(u, U) {
    const L big = sub(one, div(splat<L>(2.0f), add(e[u], one)));
    const L x2 = mul(x[u], x[u]);
    L s = fmadd(x2, splat<L>(-17.0f / 315.0f), splat<L>(2.0f / 15.0f));
    s = fmadd(x2, s, splat<L>(-1.0f / 3.0f));
    s = fmadd(x2, s, one);
    out[u] = select_less(abs(x[u]), splat<L>(0.05f), mul(x[u], s), big);
  }
}

// out[u] = 1 / (1 + e^{-x[u]}).
template <int U, class L>
ROTOR_LANE_INLINE void sigmoid_n(const L* x, L* out) {
  using namespace lane;
  L neg[U], e[U];
  ROTOR_EACH(u, U) neg[u] = sub(splat<L>(0.0f), x[u]);
  exp_n<U>(neg, e);
  const L one = splat<L>(1.0f);
  ROTOR_EACH(u, U) out[u] = div(one, add(one, e[u]));
}

// One value (float or 16 floats): vec::exp(x), vec::tanh(x), vec::sigmoid(x).
template <class L>
ROTOR_LANE_INLINE L exp(L x) {
  L y;
  exp_n<1>(&x, &y);
  return y;
}
template <class L>
ROTOR_LANE_INLINE L tanh(L x) {
  L y;
  tanh_n<1>(&x, &y);
  return y;
}
template <class L>
ROTOR_LANE_INLINE L sigmoid(L x) {
  L y;
  sigmoid_n<1>(&x, &y);
  return y;
}

}  // namespace rotor::kernels::vec

namespace rotor::kernels {

// Dispatch for kernels templated on their arithmetic type: the functions above for float, std:: for double.
template <class T> struct math_of {
  static T exp(T x) { return std::exp(x); }
  static T tanh(T x) { return std::tanh(x); }
  static T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }
};
template <> struct math_of<float> {
  static float exp(float x) { return vec::exp(x); }
  static float tanh(float x) { return vec::tanh(x); }
  static float sigmoid(float x) { return vec::sigmoid(x); }
};

}  // namespace rotor::kernels

namespace rotor::kernels::vec {

#if defined(ROTOR_HAVE_AVX512)

// Mask selecting the first n (< 16) lanes, or all lanes when n >= 16.
inline __mmask16 tail_mask(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u); }
inline __m512 load(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline void store(float* p, __m512 v, __mmask16 m) { _mm512_mask_storeu_ps(p, m, v); }

// erf(x) via erf(|x|) = 1 - t*P(t)*exp(-x^2), t = 1/(1 + p|x|) (Abramowitz-Stegun 7.1.26 form),
// given e = exp(-x^2) (callers that also need that exponential compute it once).
template <int U>
inline void erf_given_exp_n(const __m512* x, const __m512* e, __m512* out) {
  __m512 den[U], t[U], p[U];
  ROTOR_EACH(u, U) {
    den[u] = _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), _mm512_abs_ps(x[u]), _mm512_set1_ps(1.0f));
    t[u] = _mm512_rcp14_ps(den[u]);
  }
  ROTOR_EACH(u, U) t[u] = _mm512_mul_ps(t[u], _mm512_fnmadd_ps(den[u], t[u], _mm512_set1_ps(2.0f)));
  ROTOR_EACH(u, U) p[u] = _mm512_fmadd_ps(_mm512_set1_ps(1.061405429f), t[u], _mm512_set1_ps(-1.453152027f));
  for (const float c : {1.421413741f, -0.284496736f, 0.254829592f}) {
    const __m512 vc = _mm512_set1_ps(c);
    ROTOR_EACH(u, U) p[u] = _mm512_fmadd_ps(p[u], t[u], vc);
  }
  const __m512i sign_bit = _mm512_set1_epi32(int(0x80000000u));
  ROTOR_EACH(u, U) {
    const __m512 y = _mm512_fnmadd_ps(_mm512_mul_ps(p[u], t[u]), e[u], _mm512_set1_ps(1.0f));
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x[u]), sign_bit);
    out[u] = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), sign));
  }
}

template <int U>
inline void erf_n(const __m512* x, __m512* out) {
  __m512 neg_x2[U], e[U];
  ROTOR_EACH(u, U) neg_x2[u] = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(x[u], x[u]));
  exp_n<U>(neg_x2, e);
  erf_given_exp_n<U>(x, e, out);
}
inline __m512 erf_given_exp(__m512 x, __m512 e) {
  __m512 y;
  erf_given_exp_n<1>(&x, &e, &y);
  return y;
}
inline __m512 erf(__m512 x) {
  __m512 y;
  erf_n<1>(&x, &y);
  return y;
}

// 16 bf16 -> 16 floats (exact), loading the lanes selected by m (others 0).
inline __m512 load_bf16(const void* p, __mmask16 m) {
  const __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}

// load() for either element type, so that kernels templated on their input type read both the same way.
inline __m512 load(const bf16* p, __mmask16 m) { return load_bf16(p, m); }

// 16 floats -> 16 bf16 (round to nearest even), storing the first lanes selected by m.
inline void store_bf16(void* p, __m512 v, __mmask16 m) {
#if defined(__AVX512BF16__)
  const __m256bh h = _mm512_cvtneps_pbh(v);
  _mm256_mask_storeu_epi16(p, m, reinterpret_cast<const __m256i&>(h));
#else
  // round to nearest even on the bit pattern (inputs are finite activations)
  __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  u = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
  _mm256_mask_storeu_epi16(p, m, _mm512_cvtepi32_epi16(_mm512_srli_epi32(u, 16)));
#endif
}

inline float reduce_add(__m512 v) { return _mm512_reduce_add_ps(v); }
inline float reduce_max(__m512 v) { return _mm512_reduce_max_ps(v); }

// Transposes of 32-bit words in 16 x 16 register tiles (rotor/core/transpose16.h).
using rotor::simd::transpose16;
using rotor::simd::transpose_block;

#endif

}  // namespace rotor::kernels::vec

