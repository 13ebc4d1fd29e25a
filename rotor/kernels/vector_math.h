#pragma once
// AVX-512 building blocks for the elementwise kernels: exp, erf, tanh on 16 floats at a time, and
// masked loads/stores for loop tails. Accuracy: exp within ~2 ulp over its range; erf within 2e-7
// absolute (Abramowitz-Stegun 7.1.26 refined); tanh from exp. Without AVX-512 only the scalar helpers
// exist and the kernels fall back to std:: functions.
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

#if defined(ROTOR_HAVE_AVX512)

// Mask selecting the first n (< 16) lanes, or all lanes when n >= 16.
inline __mmask16 tail_mask(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u); }
inline __m512 load(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline void store(float* p, __m512 v, __mmask16 m) { _mm512_mask_storeu_ps(p, m, v); }

// e^x. Inputs below -104 give 0, above 88.7 give +inf.
inline __m512 exp(__m512 x) {
  const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
  const __m512 ln2_hi = _mm512_set1_ps(0.693359375f);
  const __m512 ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
  x = _mm512_min_ps(x, _mm512_set1_ps(88.8f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, ln2_hi, x);
  r = _mm512_fnmadd_ps(n, ln2_lo, r);
  // e^r on |r| <= ln2/2: degree-7 Taylor polynomial (Horner).
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// erf(x) via erf(|x|) = 1 - t*P(t)*exp(-x^2), t = 1/(1 + p|x|) (Abramowitz-Stegun 7.1.26 form),
// given e = exp(-x^2) (callers that also need that exponential compute it once).
inline __m512 erf_given_exp(__m512 x, __m512 e) {
  const __m512 ax = _mm512_abs_ps(x);
  // t = 1 / den by a 14-bit reciprocal estimate refined with one Newton step (about 28 bits)
  const __m512 den = _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, _mm512_set1_ps(1.0f));
  __m512 t = _mm512_rcp14_ps(den);
  t = _mm512_mul_ps(t, _mm512_fnmadd_ps(den, t, _mm512_set1_ps(2.0f)));
  __m512 p = _mm512_set1_ps(1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  p = _mm512_mul_ps(p, t);
  const __m512 y = _mm512_fnmadd_ps(p, e, _mm512_set1_ps(1.0f));
  // copy the sign of x
  const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(int(0x80000000u)));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), sign));
}
inline __m512 erf(__m512 x) { return erf_given_exp(x, exp(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(x, x)))); }

// The same functions on U vectors at once, their steps interleaved so that U independent dependency
// chains are in flight (a single exp or erf is a chain of ~15 dependent FMAs: latency-bound alone).
#define ROTOR_EACH(u, U) _Pragma("GCC unroll 8") for (int u = 0; u < (U); ++u)
template <int U>
inline void exp_n(const __m512* x_in, __m512* out) {
  const __m512 log2e = _mm512_set1_ps(1.44269504088896341f), ln2_hi = _mm512_set1_ps(0.693359375f),
               ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
  __m512 x[U], n[U], r[U], p[U];
  ROTOR_EACH(u, U) {
    x[u] = _mm512_min_ps(_mm512_max_ps(x_in[u], _mm512_set1_ps(-104.0f)), _mm512_set1_ps(88.8f));
    n[u] = _mm512_roundscale_ps(_mm512_mul_ps(x[u], log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  ROTOR_EACH(u, U) r[u] = _mm512_fnmadd_ps(n[u], ln2_lo, _mm512_fnmadd_ps(n[u], ln2_hi, x[u]));
  ROTOR_EACH(u, U) p[u] = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 5040.0f), r[u], _mm512_set1_ps(1.0f / 720.0f));
  for (const float c : {1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f}) {
    const __m512 vc = _mm512_set1_ps(c);
    ROTOR_EACH(u, U) p[u] = _mm512_fmadd_ps(p[u], r[u], vc);
  }
  ROTOR_EACH(u, U) out[u] = _mm512_scalef_ps(p[u], n[u]);
}

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

// tanh(x) = 1 - 2 / (e^{2x} + 1), saturating correctly at both ends.
inline __m512 tanh(__m512 x) {
  const __m512 e = exp(_mm512_add_ps(x, x));
  return _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
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
