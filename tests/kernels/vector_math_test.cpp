// The one exp/tanh/sigmoid (rotor/kernels/vector_math.h): the scalar path (as called, and auto-vectorised
// in an `omp simd` loop the way the elementwise kernels call it) equals the AVX-512 path bit for bit over a
// dense sweep of inputs, and both are within a stated error of the double-precision std:: functions.
#include "rotor/kernels/vector_math.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

namespace rotor::kernels {
namespace {

// Every 997th float bit pattern of each sign up to 2^30 magnitude (2.6 million values, all exponents,
// denormal inputs included), the range [-90, 90] in steps of 1/256, the ranges where exp's result is
// denormal or overflows in fine steps, and the special values.
std::vector<float> sweep() {
  std::vector<float> v;
  for (uint32_t bits = 0; bits < 0x4E800000u; bits += 997) {
    v.push_back(std::bit_cast<float>(bits));
    v.push_back(-std::bit_cast<float>(bits));
  }
  for (float x = -90.0f; x < 90.0f; x += 1.0f / 256) v.push_back(x);
  for (float x = -105.0f; x < -85.0f; x += 1.0f / 1024) v.push_back(x);  // denormal and zero results
  for (float x = 88.0f; x < 89.5f; x = std::nextafter(x, 100.0f)) v.push_back(x);  // the overflow edge
  for (float x = -0.2f; x < 0.2f; x += 1.0f / 65536) v.push_back(x);  // tanh's switch at 0.05
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                  -std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::max(),
                  -std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(), 88.8f, -104.0f,
                  0.05f, -0.05f, std::nextafter(0.05f, 0.0f), 0.5f * std::log(2.0f)})
    v.push_back(x);
  while (v.size() % 16) v.push_back(1.0f);
  return v;
}

uint32_t bits_of(float x) { return std::bit_cast<uint32_t>(x); }

// Distance from y to the double ref in units of the float spacing at ref (2^-149 for denormals).
double ulps(float y, double ref) {
  if (std::isinf(ref) || std::isinf(y)) return y == static_cast<float>(ref) ? 0.0 : INFINITY;
  const double a = std::abs(ref);
  const int e = a < std::ldexp(1.0, -126) ? -126 : std::ilogb(a);
  return std::abs(double(y) - ref) / std::ldexp(1.0, e - 23);
}

enum class Fn { exp, tanh, sigmoid };
const char* fn_name(Fn f) { return f == Fn::exp ? "exp" : f == Fn::tanh ? "tanh" : "sigmoid"; }

float scalar(Fn f, float x) {
  return f == Fn::exp ? vec::exp(x) : f == Fn::tanh ? vec::tanh(x) : vec::sigmoid(x);
}

// The scalar functions in an auto-vectorised loop, as rotor/kernels/elementwise.cpp calls them.
std::vector<float> scalar_loop(Fn f, const std::vector<float>& x) {
  std::vector<float> y(x.size());
  const int64_t n = static_cast<int64_t>(x.size());
  const float* xp = x.data();
  float* yp = y.data();
  switch (f) {
    case Fn::exp:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) yp[i] = math_of<float>::exp(xp[i]);
      break;
    case Fn::tanh:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) yp[i] = math_of<float>::tanh(xp[i]);
      break;
    case Fn::sigmoid:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) yp[i] = math_of<float>::sigmoid(xp[i]);
      break;
  }
  return y;
}

double reference(Fn f, float x) {
  const double d = x;
  return f == Fn::exp ? std::exp(d) : f == Fn::tanh ? std::tanh(d) : 1.0 / (1.0 + std::exp(-d));
}

#if defined(ROTOR_HAVE_AVX512)
std::vector<float> vector_path(Fn f, const std::vector<float>& x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); i += 16) {
    const __m512 v = _mm512_loadu_ps(x.data() + i);
    __m512 r;
    if (f == Fn::exp) vec::exp_n<1>(&v, &r);  // the U = 1 and U = 3 instances agree too
    else if (f == Fn::tanh) r = vec::tanh(v);
    else r = vec::sigmoid(v);
    _mm512_storeu_ps(y.data() + i, r);
  }
  return y;
}

TEST(VectorMath, ScalarEqualsVectorBitForBit) {
  const std::vector<float> x = sweep();
  for (Fn f : {Fn::exp, Fn::tanh, Fn::sigmoid}) {
    SCOPED_TRACE(fn_name(f));
    const std::vector<float> v = vector_path(f, x), looped = scalar_loop(f, x);
    int64_t mismatches = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const float s = scalar(f, x[i]);
      const bool same = bits_of(s) == bits_of(v[i]) && bits_of(looped[i]) == bits_of(v[i]);
      if (!same && mismatches++ < 5)
        ADD_FAILURE() << "x = " << x[i] << " (0x" << std::hex << bits_of(x[i]) << std::dec << "): scalar " << s
                      << ", in a simd loop " << looped[i] << ", vector " << v[i];
    }
    EXPECT_EQ(mismatches, 0);
  }
}

TEST(VectorMath, InterleavedExpEqualsSingle) {
  const std::vector<float> x = sweep();
  for (size_t i = 0; i + 48 <= x.size(); i += 48) {
    __m512 in[3], out[3];
    for (int u = 0; u < 3; ++u) in[u] = _mm512_loadu_ps(x.data() + i + 16 * u);
    vec::exp_n<3>(in, out);
    for (int u = 0; u < 3; ++u) {
      alignas(64) float a[16], b[16];
      _mm512_store_ps(a, out[u]);
      _mm512_store_ps(b, vec::exp(in[u]));
      for (int l = 0; l < 16; ++l) ASSERT_EQ(bits_of(a[l]), bits_of(b[l])) << "x = " << x[i + 16 * u + l];
    }
  }
}

TEST(VectorMath, ErfWithinItsBound) {
  double worst = 0;
  for (float x = -6.0f; x < 6.0f; x += 1.0f / 4096) {
    alignas(64) float y[16];
    _mm512_store_ps(y, vec::erf(_mm512_set1_ps(x)));
    worst = std::max(worst, std::abs(double(y[0]) - std::erf(double(x))));
  }
  std::printf("erf max abs error %.3g\n", worst);
  EXPECT_LT(worst, 6e-7);
}
#endif

// Accuracy of the scalar path (equal to the vector path above) against double precision.
TEST(VectorMath, AccuracyAgainstDouble) {
  const std::vector<float> x = sweep();
  double exp_ulps = 0, tanh_abs = 0, sigmoid_ulps = 0;
  for (float v : x) {
    if (std::isnan(v)) {
      EXPECT_TRUE(std::isnan(vec::exp(v)) && std::isnan(vec::tanh(v)) && std::isnan(vec::sigmoid(v)));
      continue;
    }
    exp_ulps = std::max(exp_ulps, ulps(vec::exp(v), reference(Fn::exp, v)));
    tanh_abs = std::max(tanh_abs, std::abs(double(vec::tanh(v)) - reference(Fn::tanh, v)));
    // below -88.7 e^{-x} overflows and sigmoid gives 0 for a true value under 2^-126
    const double sig = reference(Fn::sigmoid, v);
    if (sig >= std::numeric_limits<float>::min()) sigmoid_ulps = std::max(sigmoid_ulps, ulps(vec::sigmoid(v), sig));
    else EXPECT_LE(std::abs(vec::sigmoid(v) - sig), std::numeric_limits<float>::min()) << v;
  }
  std::printf("max error: exp %.3g ulp, tanh %.3g, sigmoid %.3g ulp\n", exp_ulps, tanh_abs, sigmoid_ulps);
  EXPECT_LE(exp_ulps, 1.0);
  EXPECT_LE(tanh_abs, 2e-7);
  EXPECT_LE(sigmoid_ulps, 3.0);
  // tanh keeps its relative accuracy near 0 (the series), where 1 - 2/(e^2x + 1) would cancel
  for (float v : {1e-3f, -2e-4f, 3e-2f, 1e-30f})
    EXPECT_LE(ulps(vec::tanh(v), std::tanh(double(v))), 2.0) << v;
}

TEST(VectorMath, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(vec::exp(-inf), 0.0f);
  EXPECT_EQ(vec::exp(inf), inf);
  EXPECT_EQ(vec::exp(0.0f), 1.0f);
  EXPECT_EQ(vec::exp(-104.0f), 0.0f);
  EXPECT_EQ(vec::exp(89.0f), inf);
  EXPECT_GT(vec::exp(-100.0f), 0.0f);  // a denormal result, not flushed
  EXPECT_LT(vec::exp(-100.0f), std::numeric_limits<float>::min());
  EXPECT_TRUE(std::isfinite(vec::exp(88.72f)));  // just below log(FLT_MAX)
  EXPECT_EQ(vec::tanh(inf), 1.0f);
  EXPECT_EQ(vec::tanh(-inf), -1.0f);
  EXPECT_EQ(vec::sigmoid(-inf), 0.0f);
  EXPECT_EQ(vec::sigmoid(inf), 1.0f);
  EXPECT_TRUE(std::isnan(vec::exp(std::numeric_limits<float>::quiet_NaN())));
}

}  // namespace
}  // namespace rotor::kernels
