#include "rotor/kernels/activations.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "rotor/core/error.h"
#include "rotor/kernels/parallel_rows.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

Activation activation_from_name(const std::string& name) {
  if (name == "relu") return Activation::relu;
  if (name == "gelu" || name == "gelu_erf") return Activation::gelu_erf;
  if (name == "gelu_tanh") return Activation::gelu_tanh;
  if (name == "silu" || name == "swish") return Activation::silu;
  throw Error(cat("unknown activation '", name, "' (expected relu, gelu, gelu_tanh or silu)"));
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::gelu_erf: return "gelu";
    case Activation::gelu_tanh: return "gelu_tanh";
    case Activation::silu: return "silu";
  }
  return "?";
}

namespace {

constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kGeluTanhCubic = 0.044715;

// Value and derivative of the activation at x (scalar, std:: math).
template <class T>
inline void eval_scalar(Activation act, T x, T& y, T& dy) {
  y = dy = T(0);
  switch (act) {
    case Activation::relu:
      y = x > 0 ? x : T(0);
      dy = x > 0 ? T(1) : T(0);
      return;
    case Activation::gelu_erf: {
      const T cdf = T(0.5) * (T(1) + std::erf(x * T(kSqrtHalf)));
      y = x * cdf;
      dy = cdf + x * T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
      return;
    }
    case Activation::gelu_tanh: {
      const T u = T(kSqrt2OverPi) * (x + T(kGeluTanhCubic) * x * x * x);
      const T th = std::tanh(u);
      y = T(0.5) * x * (T(1) + th);
      dy = T(0.5) * (T(1) + th) + T(0.5) * x * (T(1) - th * th) * T(kSqrt2OverPi) * (T(1) + T(3 * kGeluTanhCubic) * x * x);
      return;
    }
    case Activation::silu: {
      const T sg = T(1) / (T(1) + std::exp(-x));
      y = x * sg;
      dy = sg * (T(1) + x * (T(1) - sg));
      return;
    }
  }
}

#if defined(ROTOR_HAVE_AVX512)
__attribute__((always_inline)) inline void eval_vec(Activation act, __m512 x, __m512& y, __m512& dy) {
  const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
  y = dy = _mm512_setzero_ps();
  switch (act) {
    case Activation::relu: {
      const __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
      y = _mm512_maskz_mov_ps(pos, x);
      dy = _mm512_maskz_mov_ps(pos, one);
      return;
    }
    case Activation::gelu_erf: {
      // one exponential serves both: exp(-x^2/2) is erf's exp(-z^2) at z = x/sqrt2 and the normal pdf's
      const __m512 e = vec::exp(_mm512_mul_ps(_mm512_set1_ps(-0.5f), _mm512_mul_ps(x, x)));
      const __m512 cdf =
          _mm512_mul_ps(half, _mm512_add_ps(one, vec::erf_given_exp(_mm512_mul_ps(x, _mm512_set1_ps(float(kSqrtHalf))), e)));
      const __m512 pdf = _mm512_mul_ps(_mm512_set1_ps(float(kInvSqrt2Pi)), e);
      y = _mm512_mul_ps(x, cdf);
      dy = _mm512_fmadd_ps(x, pdf, cdf);
      return;
    }
    case Activation::gelu_tanh: {
      const __m512 x2 = _mm512_mul_ps(x, x);
      const __m512 u = _mm512_mul_ps(_mm512_set1_ps(float(kSqrt2OverPi)),
                                     _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(float(kGeluTanhCubic)), x2), x, x));
      const __m512 th = vec::tanh(u);
      const __m512 opt = _mm512_add_ps(one, th);
      y = _mm512_mul_ps(_mm512_mul_ps(half, x), opt);
      const __m512 du = _mm512_mul_ps(_mm512_set1_ps(float(kSqrt2OverPi)),
                                      _mm512_fmadd_ps(_mm512_set1_ps(float(3 * kGeluTanhCubic)), x2, one));
      const __m512 sech2 = _mm512_fnmadd_ps(th, th, one);
      dy = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_mul_ps(half, x), sech2), du, _mm512_mul_ps(half, opt));
      return;
    }
    case Activation::silu: {
      const __m512 sg = _mm512_div_ps(one, _mm512_add_ps(one, vec::exp(_mm512_sub_ps(_mm512_setzero_ps(), x))));
      y = _mm512_mul_ps(x, sg);
      dy = _mm512_mul_ps(sg, _mm512_fmadd_ps(x, _mm512_sub_ps(one, sg), one));
      return;
    }
  }
}
#endif

constexpr int64_t kChunk = 2048;  // elements per parallel work item

// Runs body(begin, end) over [0, n) in chunks, in parallel above the threshold.
template <class Fn>
void chunked(int64_t n, Fn&& body) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_rows(chunks, kChunk * 8, [&](int64_t c) { body(c * kChunk, std::min(n, (c + 1) * kChunk)); });
}

// The forward kernels write either their input type or, from float inputs, bf16 (the next matmul's input).
template <class Out, class T>
inline Out to_output(T v) {
  if constexpr (std::is_same_v<Out, bf16>) return float_to_bf16(v);
  else return v;
}
#if defined(ROTOR_HAVE_AVX512)
template <class Out>
inline void store_output(Out* p, __m512 v, __mmask16 m) {
  if constexpr (std::is_same_v<Out, bf16>) vec::store_bf16(p, v, m);
  else vec::store(p, v, m);
}
#endif

// out[i] = act(inp[i]).  inp: [n]  out: [n]
template <class T, class Out>
void activation_forward_to(Activation act, Out* out, const T* inp, int64_t n) {
  chunked(n, [&](int64_t b, int64_t e) {
    int64_t i = b;
#if defined(ROTOR_HAVE_AVX512)
    if constexpr (std::is_same_v<T, float>) {
      for (; i < e; i += 16) {
        const __mmask16 m = vec::tail_mask(e - i);
        __m512 y = _mm512_setzero_ps(), dy = y;
        eval_vec(act, vec::load(inp + i, m), y, dy);
        store_output(out + i, y, m);
      }
    }
#endif
    for (; i < e; ++i) {
      T y = 0, dy = 0;
      eval_scalar<T>(act, inp[i], y, dy);
      out[i] = to_output<Out>(y);
    }
  });
}

// out[n, i] = act(gate[n, i]) * up[n, i].  inp: [N, 2H] as [gate | up]  out: [N, H]
template <class T, class Out>
void gated_forward_to(Activation act, Out* out, const T* inp, int64_t N, int64_t H) {
  parallel_rows(N, 8 * H, [&](int64_t n) {
    const T* gate = inp + n * 2 * H;
    const T* up = gate + H;
    Out* y_row = out + n * H;
    int64_t i = 0;
#if defined(ROTOR_HAVE_AVX512)
    if constexpr (std::is_same_v<T, float>) {
      for (; i < H; i += 16) {
        const __mmask16 m = vec::tail_mask(H - i);
        __m512 y = _mm512_setzero_ps(), dy = y;
        eval_vec(act, vec::load(gate + i, m), y, dy);
        store_output(y_row + i, _mm512_mul_ps(y, vec::load(up + i, m)), m);
      }
    }
#endif
    for (; i < H; ++i) {
      T y = 0, dy = 0;
      eval_scalar<T>(act, gate[i], y, dy);
      y_row[i] = to_output<Out>(y * up[i]);
    }
  });
}

}  // namespace

template <class T>
void activation_forward(Activation act, T* out, const T* inp, int64_t n) {
  activation_forward_to(act, out, inp, n);
}

template <class T>
void activation_backward(Activation act, T* dinp, const T* dout, const T* inp, int64_t n) {
  chunked(n, [&](int64_t b, int64_t e) {
    int64_t i = b;
#if defined(ROTOR_HAVE_AVX512)
    if constexpr (std::is_same_v<T, float>) {
      for (; i < e; i += 16) {
        const __mmask16 m = vec::tail_mask(e - i);
        __m512 y = _mm512_setzero_ps(), dy = y;
        eval_vec(act, vec::load(inp + i, m), y, dy);
        vec::store(dinp + i, _mm512_fmadd_ps(vec::load(dout + i, m), dy, vec::load(dinp + i, m)), m);
      }
    }
#endif
    for (; i < e; ++i) {
      T y = 0, dy = 0;
      eval_scalar<T>(act, inp[i], y, dy);
      dinp[i] += dout[i] * dy;
    }
  });
}

template <class T>
void gated_forward(Activation act, T* out, const T* inp, int64_t N, int64_t H) {
  gated_forward_to(act, out, inp, N, H);
}

template <class T>
void gated_backward(Activation act, T* dinp, const T* dout, const T* inp, int64_t N, int64_t H) {
  parallel_rows(N, 8 * H, [&](int64_t n) {
    const T* gate = inp + n * 2 * H;
    const T* up = gate + H;
    const T* g = dout + n * H;
    T* dgate = dinp + n * 2 * H;
    T* dup = dgate + H;
    int64_t i = 0;
#if defined(ROTOR_HAVE_AVX512)
    if constexpr (std::is_same_v<T, float>) {
      for (; i < H; i += 16) {
        const __mmask16 m = vec::tail_mask(H - i);
        __m512 y = _mm512_setzero_ps(), dy = y;
        eval_vec(act, vec::load(gate + i, m), y, dy);
        const __m512 gv = vec::load(g + i, m);
        vec::store(dgate + i, _mm512_fmadd_ps(_mm512_mul_ps(gv, vec::load(up + i, m)), dy, vec::load(dgate + i, m)), m);
        vec::store(dup + i, _mm512_fmadd_ps(gv, y, vec::load(dup + i, m)), m);
      }
    }
#endif
    for (; i < H; ++i) {
      T y = 0, dy = 0;
      eval_scalar<T>(act, gate[i], y, dy);
      dgate[i] += g[i] * up[i] * dy;
      dup[i] += g[i] * y;
    }
  });
}

void activation_forward_bf16(Activation act, bf16* out, const float* inp, int64_t n) {
  activation_forward_to(act, out, inp, n);
}

void gated_forward_bf16(Activation act, bf16* out, const float* inp, int64_t N, int64_t H) {
  gated_forward_to(act, out, inp, N, H);
}

void activation_forward_saving_grad(Activation act, float* out, bf16* out16, float* grad, const float* inp, int64_t n) {
  chunked(n, [&](int64_t b, int64_t e) {
    int64_t i = b;
#if defined(ROTOR_HAVE_AVX512)
    for (; i < e; i += 16) {
      const __mmask16 m = vec::tail_mask(e - i);
      __m512 y = _mm512_setzero_ps(), dy = y;
      eval_vec(act, vec::load(inp + i, m), y, dy);
      if (out) vec::store(out + i, y, m);
      if (out16) vec::store_bf16(out16 + i, y, m);
      vec::store(grad + i, dy, m);
    }
#endif
    for (; i < e; ++i) {
      float y = 0, dy = 0;
      eval_scalar<float>(act, inp[i], y, dy);
      if (out) out[i] = y;
      if (out16) out16[i] = float_to_bf16(y);
      grad[i] = dy;
    }
  });
}

void activation_backward_from_grad(float* dinp, const float* dout, const float* grad, int64_t n, bf16* dinp16) {
  chunked(n, [&](int64_t b, int64_t e) {
    int64_t i = b;
#if defined(ROTOR_HAVE_AVX512)
    if (dinp16)
      for (; i < e; i += 16) {
        const __mmask16 m = vec::tail_mask(e - i);
        const __m512 g = _mm512_mul_ps(vec::load(dout + i, m), vec::load(grad + i, m));
        if (dinp) vec::store(dinp + i, g, m);
        vec::store_bf16(dinp16 + i, g, m);
      }
#endif
    if (!dinp) {
      for (int64_t j = i; j < e; ++j) dinp16[j] = float_to_bf16(dout[j] * grad[j]);
      return;
    }
#pragma omp simd
    for (int64_t j = i; j < e; ++j) dinp[j] = dout[j] * grad[j];
    if (dinp16)
      for (int64_t j = i; j < e; ++j) dinp16[j] = float_to_bf16(dinp[j]);
  });
}

#define ROTOR_INSTANTIATE(T)                                                               \
  template void activation_forward<T>(Activation, T*, const T*, int64_t);                  \
  template void activation_backward<T>(Activation, T*, const T*, const T*, int64_t);       \
  template void gated_forward<T>(Activation, T*, const T*, int64_t, int64_t);              \
  template void gated_backward<T>(Activation, T*, const T*, const T*, int64_t, int64_t);
ROTOR_INSTANTIATE(float)
ROTOR_INSTANTIATE(double)
#undef ROTOR_INSTANTIATE

}  // namespace rotor::kernels
