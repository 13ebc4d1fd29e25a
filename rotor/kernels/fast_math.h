#pragma once
// Vectorisable float versions of exp, tanh and sigmoid for kernel inner loops (the glibc scalar
// functions block auto-vectorisation). Plain C++ with selects instead of branches so that GCC emits
// AVX-512 code under `#pragma omp simd`. Accuracy (measured against double in tests/kernels):
// exp about 2 ulp, tanh/sigmoid about 1e-7 absolute. Special values: exp(-inf) = 0, exp(+inf) = inf,
// NaN propagates. Double-precision callers use std:: (see `math_of<T>`). GELU and SiLU live in
// kernels/activations.cpp (explicit AVX-512 from vector_math.h), shared by every caller.
#include <bit>
#include <cmath>
#include <cstdint>

namespace rotor::kernels {

inline float fast_exp(float x) {
  constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const float xc = x < -87.5f ? -87.5f : (x > 88.5f ? 88.5f : x);
  const float n = std::floor(xc * kLog2e + 0.5f);
  const float r = xc - n * kLn2Hi - n * kLn2Lo;  // |r| <= ln2/2
  // Taylor polynomial of degree 7 (Horner).
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  float y = p * scale;
  y = x < -87.5f ? 0.0f : y;
  y = x > 88.5f ? INFINITY : y;
  return x != x ? x : y;
}

inline float fast_sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }

inline float fast_tanh(float x) {
  // tanh x = 1 - 2 / (exp(2x) + 1); for small |x| use the odd Taylor series to keep relative accuracy.
  const float big = 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f);
  const float x2 = x * x;
  const float small = x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315))));
  return std::fabs(x) < 0.05f ? small : big;
}

// Dispatch: fast float versions, std:: for double.
template <class T> struct math_of {
  static T exp(T x) { return std::exp(x); }
  static T tanh(T x) { return std::tanh(x); }
  static T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }
};
template <> struct math_of<float> {
  static float exp(float x) { return fast_exp(x); }
  static float tanh(float x) { return fast_tanh(x); }
  static float sigmoid(float x) { return fast_sigmoid(x); }
};

}  // namespace rotor::kernels
