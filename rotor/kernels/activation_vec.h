#pragma once
// The activations' value and derivative in registers (AVX-512, U vectors of 16 floats interleaved), and
// the dispatch that compiles a kernel per activation: shared by the activation kernels
// (kernels/activations.cpp) and the GEMM epilogues that fuse an activation (kernels/pair_gemm.cpp).
#include <type_traits>

#include "rotor/kernels/activations.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels::activation_detail {

constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kGeluTanhCubic = 0.044715;

// Calls fn(std::integral_constant<Activation, act>{}) so that kernels are compiled per activation.
template <class Fn>
decltype(auto) with_activation(Activation act, Fn&& fn) {
  switch (act) {
    case Activation::relu: return fn(std::integral_constant<Activation, Activation::relu>{});
    case Activation::gelu_erf: return fn(std::integral_constant<Activation, Activation::gelu_erf>{});
    case Activation::gelu_tanh: return fn(std::integral_constant<Activation, Activation::gelu_tanh>{});
    case Activation::silu: break;
  }
  return fn(std::integral_constant<Activation, Activation::silu>{});
}

#if defined(ROTOR_HAVE_AVX512)
// Value and derivative of activation A on U vectors of 16 floats, the U computations interleaved.
template <Activation A, int U>
__attribute__((always_inline)) inline void eval_vec(const __m512* x, __m512* y, __m512* dy) {
  const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
  if constexpr (A == Activation::relu) {
    ROTOR_EACH(u, U) {
      const __mmask16 pos = _mm512_cmp_ps_mask(x[u], _mm512_setzero_ps(), _CMP_GT_OQ);
      y[u] = _mm512_maskz_mov_ps(pos, x[u]);
      dy[u] = _mm512_maskz_mov_ps(pos, one);
    }
  } else if constexpr (A == Activation::gelu_erf) {
    // one exponential serves both: exp(-x^2/2) is erf's exp(-z^2) at z = x/sqrt2 and the normal pdf's
    __m512 arg[U], e[U], z[U], erf[U];
    ROTOR_EACH(u, U) {
      arg[u] = _mm512_mul_ps(_mm512_set1_ps(-0.5f), _mm512_mul_ps(x[u], x[u]));
      z[u] = _mm512_mul_ps(x[u], _mm512_set1_ps(float(kSqrtHalf)));
    }
    vec::exp_n<U>(arg, e);
    vec::erf_given_exp_n<U>(z, e, erf);
    ROTOR_EACH(u, U) {
      const __m512 cdf = _mm512_mul_ps(half, _mm512_add_ps(one, erf[u]));
      const __m512 pdf = _mm512_mul_ps(_mm512_set1_ps(float(kInvSqrt2Pi)), e[u]);
      y[u] = _mm512_mul_ps(x[u], cdf);
      dy[u] = _mm512_fmadd_ps(x[u], pdf, cdf);
    }
  } else if constexpr (A == Activation::gelu_tanh) {
    // tanh(u) = 1 - 2 / (e^{2u} + 1)
    __m512 x2[U], two_u[U], e[U];
    ROTOR_EACH(u, U) {
      x2[u] = _mm512_mul_ps(x[u], x[u]);
      const __m512 arg = _mm512_mul_ps(_mm512_set1_ps(float(kSqrt2OverPi)),
                                       _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(float(kGeluTanhCubic)), x2[u]),
                                                       x[u], x[u]));
      two_u[u] = _mm512_add_ps(arg, arg);
    }
    vec::exp_n<U>(two_u, e);
    ROTOR_EACH(u, U) {
      const __m512 th =
          _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e[u], one)));
      const __m512 opt = _mm512_add_ps(one, th);
      y[u] = _mm512_mul_ps(_mm512_mul_ps(half, x[u]), opt);
      const __m512 du = _mm512_mul_ps(_mm512_set1_ps(float(kSqrt2OverPi)),
                                      _mm512_fmadd_ps(_mm512_set1_ps(float(3 * kGeluTanhCubic)), x2[u], one));
      const __m512 sech2 = _mm512_fnmadd_ps(th, th, one);
      dy[u] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_mul_ps(half, x[u]), sech2), du, _mm512_mul_ps(half, opt));
    }
  } else {  // silu
    __m512 neg[U], e[U];
    ROTOR_EACH(u, U) neg[u] = _mm512_sub_ps(_mm512_setzero_ps(), x[u]);
    vec::exp_n<U>(neg, e);
    ROTOR_EACH(u, U) {
      const __m512 sg = _mm512_div_ps(one, _mm512_add_ps(one, e[u]));
      y[u] = _mm512_mul_ps(x[u], sg);
      dy[u] = _mm512_mul_ps(sg, _mm512_fmadd_ps(x[u], _mm512_sub_ps(one, sg), one));
    }
  }
}
#endif

}  // namespace rotor::kernels::activation_detail
