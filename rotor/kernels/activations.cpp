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
    __m512 x2[U], arg[U], th[U];
    ROTOR_EACH(u, U) {
      x2[u] = _mm512_mul_ps(x[u], x[u]);
      arg[u] = _mm512_mul_ps(_mm512_set1_ps(float(kSqrt2OverPi)),
                             _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(float(kGeluTanhCubic)), x2[u]), x[u], x[u]));
    }
    vec::tanh_n<U>(arg, th);
    ROTOR_EACH(u, U) {
      const __m512 opt = _mm512_add_ps(one, th[u]);
      y[u] = _mm512_mul_ps(_mm512_mul_ps(half, x[u]), opt);
      const __m512 du = _mm512_mul_ps(_mm512_set1_ps(float(kSqrt2OverPi)),
                                      _mm512_fmadd_ps(_mm512_set1_ps(float(3 * kGeluTanhCubic)), x2[u], one));
      const __m512 sech2 = _mm512_fnmadd_ps(th[u], th[u], one);
      dy[u] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_mul_ps(half, x[u]), sech2), du, _mm512_mul_ps(half, opt));
    }
  } else {  // silu
    __m512 sg[U];
    vec::sigmoid_n<U>(x, sg);
    ROTOR_EACH(u, U) {
      y[u] = _mm512_mul_ps(x[u], sg[u]);
      dy[u] = _mm512_mul_ps(sg[u], _mm512_fmadd_ps(x[u], _mm512_sub_ps(one, sg[u]), one));
    }
  }
}
#endif

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
constexpr int kUnroll = 4;  // vectors of 16 per step of the vector loops

// Calls step.template operator()<U>(i, mask) over [b, e): in steps of kUnroll full vectors (mask all
// ones), then one vector at a time (the last one masked).
template <class Step>
__attribute__((always_inline)) inline int64_t vector_loop(int64_t b, int64_t e, Step&& step) {
  int64_t i = b;
  for (; i + 16 * kUnroll <= e; i += 16 * kUnroll) step.template operator()<kUnroll>(i, __mmask16(0xFFFF));
  for (; i < e; i += 16) step.template operator()<1>(i, vec::tail_mask(e - i));
  return e;
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

template <class T, class In>
inline T to_compute(In v) {
  if constexpr (std::is_same_v<In, bf16>) return T(bf16_to_float(v));
  else return T(v);
}

// The elementwise skeleton of every pointwise activation kernel: evaluates act and act' on inp[0, n)
// (in parallel chunks) and hands the results on. On AVX-512 (T = float):
// vec_fn.template operator()<U>(j, m, y, dy) for U vectors of 16 starting at j (lanes m of each);
// otherwise, and for loop tails, scalar_fn(i, y, dy).
template <class T, class In, class VecFn, class ScalarFn>
void map_activation(Activation act, const In* __restrict inp, int64_t n, VecFn&& vec_fn, ScalarFn&& scalar_fn) {
  with_activation(act, [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    chunked(n, [&](int64_t b, int64_t e) {
      int64_t i = b;
#if defined(ROTOR_HAVE_AVX512)
      if constexpr (std::is_same_v<T, float>) {
        i = vector_loop(b, e, [&]<int U>(int64_t j, __mmask16 m) {
          __m512 x[U], y[U], dy[U];
          ROTOR_EACH(u, U) x[u] = vec::load(inp + j + 16 * u, m);
          eval_vec<A, U>(x, y, dy);
          vec_fn.template operator()<U>(j, m, y, dy);
        });
      }
#endif
      for (; i < e; ++i) {
        T y = 0, dy = 0;
        eval_scalar<T>(A, to_compute<T>(inp[i]), y, dy);
        scalar_fn(i, y, dy);
      }
    });
  });
}

// out[i] = act(inp[i]); with grad, also grad[i] = act'(inp[i]).  inp, out, grad: [n]
// T: the arithmetic type (float or double); In, Out, Grad: T, or bf16 for float.
template <class T, class Out, class In = T, class Grad = T>
void activation_forward_to(Activation act, Out* __restrict out, Grad* __restrict grad, const In* __restrict inp,
                           int64_t n) {
  map_activation<T>(
      act, inp, n,
      [&]<int U>(int64_t j, auto m, const auto* y, const auto* dy) {  // float only
#if defined(ROTOR_HAVE_AVX512)
        if constexpr (std::is_same_v<T, float>) {
          ROTOR_EACH(u, U) store_output(out + j + 16 * u, y[u], m);
          if (grad) ROTOR_EACH(u, U) store_output(grad + j + 16 * u, dy[u], m);
        }
#endif
      },
      [&](int64_t i, T y, T dy) {
        out[i] = to_output<Out>(y);
        if (grad) grad[i] = to_output<Grad>(dy);
      });
}

// out[n, i] = act(gate[n, i]) * up[n, i].  inp: [N, 2H] as [gate | up]  out: [N, H]
template <class T, class Out>
void gated_forward_to(Activation act, Out* out, const T* inp, int64_t N, int64_t H) {
  with_activation(act, [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    parallel_rows(N, 8 * H, [&](int64_t n) {
      const T* __restrict gate = inp + n * 2 * H;
      const T* __restrict up = gate + H;
      Out* __restrict y_row = out + n * H;
      int64_t i = 0;
#if defined(ROTOR_HAVE_AVX512)
      if constexpr (std::is_same_v<T, float>) {
        i = vector_loop(0, H, [&]<int U>(int64_t j, __mmask16 m) {
          __m512 x[U], y[U], dy[U];
          ROTOR_EACH(u, U) x[u] = vec::load(gate + j + 16 * u, m);
          eval_vec<A, U>(x, y, dy);
          ROTOR_EACH(u, U) store_output(y_row + j + 16 * u, _mm512_mul_ps(y[u], vec::load(up + j + 16 * u, m)), m);
        });
      }
#endif
      for (; i < H; ++i) {
        T y = 0, dy = 0;
        eval_scalar<T>(A, gate[i], y, dy);
        y_row[i] = to_output<Out>(y * up[i]);
      }
    });
  });
}

}  // namespace

template <class T>
void activation_forward(Activation act, T* out, const T* inp, int64_t n) {
  activation_forward_to<T, T, T, T>(act, out, nullptr, inp, n);
}

template <class T>
void activation_backward(Activation act, T* dinp, const T* dout, const T* inp, int64_t n) {
  map_activation<T>(
      act, inp, n,
      [&]<int U>(int64_t j, auto m, const auto*, const auto* dy) {  // float only
#if defined(ROTOR_HAVE_AVX512)
        if constexpr (std::is_same_v<T, float>)
          ROTOR_EACH(u, U) {
            float* d = dinp + j + 16 * u;
            vec::store(d, _mm512_fmadd_ps(vec::load(dout + j + 16 * u, m), dy[u], vec::load(d, m)), m);
          }
#endif
      },
      [&](int64_t i, T, T dy) { dinp[i] += dout[i] * dy; });
}

template <class T>
void gated_forward(Activation act, T* out, const T* inp, int64_t N, int64_t H) {
  gated_forward_to(act, out, inp, N, H);
}

template <class T>
void gated_backward(Activation act, T* dinp, const T* dout, const T* inp, int64_t N, int64_t H) {
  with_activation(act, [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    parallel_rows(N, 8 * H, [&](int64_t n) {
      const T* __restrict gate = inp + n * 2 * H;
      const T* __restrict up = gate + H;
      const T* __restrict g = dout + n * H;
      T* __restrict dgate = dinp + n * 2 * H;
      T* __restrict dup = dgate + H;
      int64_t i = 0;
#if defined(ROTOR_HAVE_AVX512)
      if constexpr (std::is_same_v<T, float>) {
        i = vector_loop(0, H, [&]<int U>(int64_t j, __mmask16 m) {
          __m512 x[U], y[U], dy[U];
          ROTOR_EACH(u, U) x[u] = vec::load(gate + j + 16 * u, m);
          eval_vec<A, U>(x, y, dy);
          ROTOR_EACH(u, U) {
            const int64_t k = j + 16 * u;
            const __m512 gv = vec::load(g + k, m);
            vec::store(dgate + k, _mm512_fmadd_ps(_mm512_mul_ps(gv, vec::load(up + k, m)), dy[u], vec::load(dgate + k, m)),
                       m);
            vec::store(dup + k, _mm512_fmadd_ps(gv, y[u], vec::load(dup + k, m)), m);
          }
        });
      }
#endif
      for (; i < H; ++i) {
        T y = 0, dy = 0;
        eval_scalar<T>(A, gate[i], y, dy);
        dgate[i] += g[i] * up[i] * dy;
        dup[i] += g[i] * y;
      }
    });
  });
}

void gated_forward_bf16(Activation act, bf16* out, const float* inp, int64_t N, int64_t H) {
  gated_forward_to(act, out, inp, N, H);
}

void activation_forward_saving_grad(Activation act, float* out, bf16* out16, float* grad, const float* inp, int64_t n) {
  ROTOR_CHECK((out != nullptr) != (out16 != nullptr), "activation_forward_saving_grad: give exactly one output");
  if (out) activation_forward_to<float, float>(act, out, grad, inp, n);
  else activation_forward_to<float, bf16>(act, out16, grad, inp, n);
}

void activation_forward_bf16(Activation act, bf16* out16, const bf16* inp16, int64_t n) {
  activation_forward_to<float, bf16, bf16, bf16>(act, out16, static_cast<bf16*>(nullptr), inp16, n);
}

void activation_backward_prepare_bf16(Activation act, bf16* dinp16, float* dbias, const bf16* dout16,
                                      const bf16* inp16, int64_t N, int64_t C) {
  constexpr int64_t kRowBlock = 16;  // rows per work item and per partial row of column sums
  const int64_t blocks = (N + kRowBlock - 1) / kRowBlock;
  with_activation(act, [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    with_zeroed_scratch<float>(dbias ? size_t(blocks * C) : 0, [&](float* partial) {
      parallel_rows(blocks, kRowBlock * C * 8, [&](int64_t blk) {
        float* sums = dbias ? partial + blk * C : nullptr;
        for (int64_t r = blk * kRowBlock; r < std::min(N, (blk + 1) * kRowBlock); ++r) {
          const int64_t at = r * C;
          int64_t c = 0;
#if defined(ROTOR_HAVE_AVX512)
          c = vector_loop(0, C, [&]<int U>(int64_t j, __mmask16 m) {
            __m512 x[U], y[U], dy[U];
            ROTOR_EACH(u, U) x[u] = vec::load(inp16 + at + j + 16 * u, m);
            eval_vec<A, U>(x, y, dy);
            ROTOR_EACH(u, U) {
              const __m512 g = _mm512_mul_ps(vec::load(dout16 + at + j + 16 * u, m), dy[u]);
              vec::store_bf16(dinp16 + at + j + 16 * u, g, m);
              if (sums) vec::store(sums + j + 16 * u, _mm512_add_ps(vec::load(sums + j + 16 * u, m), g), m);
            }
          });
#endif
          for (; c < C; ++c) {
            float y = 0, dy = 0;
            eval_scalar<float>(A, bf16_to_float(inp16[at + c]), y, dy);
            const float g = bf16_to_float(dout16[at + c]) * dy;
            dinp16[at + c] = float_to_bf16(g);
            if (sums) sums[c] += g;
          }
        }
      });
      if (dbias)
        for (int64_t blk = 0; blk < blocks; ++blk)
          for (int64_t c = 0; c < C; ++c) dbias[c] += partial[blk * C + c];
    });
  });
}

void activation_backward_from_grad(float* dinp, const float* dout, const float* grad, int64_t n) {
  chunked(n, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t j = b; j < e; ++j) dinp[j] = dout[j] * grad[j];
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
