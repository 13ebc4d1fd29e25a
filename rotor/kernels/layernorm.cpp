#include "rotor/kernels/layernorm.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "rotor/kernels/bf16_convert.h"
#include "rotor/kernels/parallel_rows.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

namespace {

// Writes row y[0, C) from the float/double values in `values`; bf16 outputs are rounded.
template <class T, class O> inline void store_row(O* y, const T* values, int64_t C) {
  if constexpr (std::is_same_v<O, bf16>) {
    int64_t i = 0;
#if defined(ROTOR_HAVE_AVX512)
    if constexpr (std::is_same_v<T, float>)
      for (; i < C; i += 16) {
        const __mmask16 m = vec::tail_mask(C - i);
        vec::store_bf16(y + i, vec::load(values + i, m), m);
      }
#endif
    for (; i < C; ++i) y[i] = float_to_bf16(float(values[i]));
  } else {
    for (int64_t i = 0; i < C; ++i) y[i] = values[i];
  }
}

// Output row buffer: writes straight into `out` when O == T, else into a per-row scratch row.
template <class T, class O> struct RowOut {
  std::vector<T> scratch;
  T* row(O* out, int64_t n, int64_t C) {
    if constexpr (std::is_same_v<T, O>) {
      return out + n * C;
    } else {
      scratch.resize(C);
      return scratch.data();
    }
  }
  void flush(O* out, int64_t n, int64_t C) {
    if constexpr (!std::is_same_v<T, O>) store_row(out + n * C, scratch.data(), C);
  }
};

// Row n of the norm's input: inp, or inp + residual written to sum_out (a fused residual connection).
template <class T>
inline const T* residual_row(const T* inp, const T* residual, T* sum_out, int64_t n, int64_t C) {
  if (!residual) return inp + n * C;
  const T* a = inp + n * C;
  const T* b = residual + n * C;
  T* s = sum_out + n * C;
#pragma omp simd
  for (int64_t i = 0; i < C; ++i) s[i] = a[i] + b[i];
  return s;
}

template <class T, class O>
void layernorm_forward_impl(O* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias, int64_t N,
                            int64_t C, double eps, const T* residual, T* sum_out) {
  parallel_rows(N, C, [&](int64_t n) {
    thread_local RowOut<T, O> ro;
    const T* x = residual_row(inp, residual, sum_out, n, C);
    T* y = ro.row(out, n, C);
    T sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < C; ++i) sum += x[i];
    const T m = sum / T(C);
    T var = 0;
#pragma omp simd reduction(+ : var)
    for (int64_t i = 0; i < C; ++i) var += (x[i] - m) * (x[i] - m);
    const T s = T(1) / std::sqrt(var / T(C) + T(eps));
    if (bias) {
#pragma omp simd
      for (int64_t i = 0; i < C; ++i) y[i] = (x[i] - m) * s * weight[i] + bias[i];
    } else {
#pragma omp simd
      for (int64_t i = 0; i < C; ++i) y[i] = (x[i] - m) * s * weight[i];
    }
    mean[n] = m;
    rstd[n] = s;
    ro.flush(out, n, C);
  });
}

}  // namespace


namespace {

template <class T, class O>
void rmsnorm_forward_impl(O* out, T* rstd, const T* inp, const T* weight, int64_t N, int64_t C, double eps,
                          const T* residual, T* sum_out) {
  parallel_rows(N, C, [&](int64_t n) {
    thread_local RowOut<T, O> ro;
    const T* x = residual_row(inp, residual, sum_out, n, C);
    T* y = ro.row(out, n, C);
    T ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t i = 0; i < C; ++i) ss += x[i] * x[i];
    const T s = T(1) / std::sqrt(ss / T(C) + T(eps));
#pragma omp simd
    for (int64_t i = 0; i < C; ++i) y[i] = x[i] * s * weight[i];
    rstd[n] = s;
    ro.flush(out, n, C);
  });
}

}  // namespace

template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C,
                       double eps, const T* residual, T* sum_out) {
  layernorm_forward_impl<T, T>(out, mean, rstd, inp, weight, bias, N, C, eps, residual, sum_out);
}
template <class T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int64_t N, int64_t C, double eps,
                     const T* residual, T* sum_out) {
  rmsnorm_forward_impl<T, T>(out, rstd, inp, weight, N, C, eps, residual, sum_out);
}
void layernorm_forward_bf16(bf16* out, float* mean, float* rstd, const float* inp, const float* weight,
                            const float* bias, int64_t N, int64_t C, double eps, const float* residual,
                            float* sum_out) {
  layernorm_forward_impl<float, bf16>(out, mean, rstd, inp, weight, bias, N, C, eps, residual, sum_out);
}
void rmsnorm_forward_bf16(bf16* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C,
                          double eps, const float* residual, float* sum_out) {
  rmsnorm_forward_impl<float, bf16>(out, rstd, inp, weight, N, C, eps, residual, sum_out);
}


namespace {
template <class T, class D>
inline T as_t(D v) {
  if constexpr (std::is_same_v<D, bf16>) return T(bf16_to_float(v));
  else return T(v);
}

template <class T, class D>
void layernorm_backward_impl(T* dinp, T* dweight, T* dbias, const D* dout, const T* inp, const T* weight, const T* mean,
                        const T* rstd, int64_t N, int64_t C, const PreparedGradient* next = nullptr) {
  // partial layout: [dweight (C) | dbias (C) | next->dbias (C, when asked for)]
  const bool next_bias = next && next->dbias;
  const int64_t width = next_bias ? 3 * C : 2 * C;
  std::vector<T> sums(width, T(0));
  rows_with_column_sums<T>(N, width, 4 * C, sums.data(), [&](int64_t n, T* partial) {
    const T* x = inp + n * C;
    const D* dy = dout + n * C;
    T* dx = dinp + n * C;
    const T m = mean[n], s = rstd[n];
    T dnorm_mean = 0, dnorm_xhat_mean = 0;
#pragma omp simd reduction(+ : dnorm_mean, dnorm_xhat_mean)
    for (int64_t i = 0; i < C; ++i) {
      const T xhat = (x[i] - m) * s;
      const T dnorm = as_t<T>(dy[i]) * weight[i];
      dnorm_mean += dnorm;
      dnorm_xhat_mean += dnorm * xhat;
    }
    dnorm_mean /= T(C);
    dnorm_xhat_mean /= T(C);
    T* pw = partial;
    T* pb = partial + C;
#pragma omp simd
    for (int64_t i = 0; i < C; ++i) {
      const T xhat = (x[i] - m) * s;
      const T dnorm = as_t<T>(dy[i]) * weight[i];
      pw[i] += as_t<T>(dy[i]) * xhat;
      pb[i] += as_t<T>(dy[i]);
      dx[i] += s * (dnorm - dnorm_mean - xhat * dnorm_xhat_mean);
    }
    if constexpr (std::is_same_v<T, float>)
      if (next) store_row_bf16(next->dout16 + n * C, dx, C, next_bias ? partial + 2 * C : nullptr);
  });
  for (int64_t i = 0; i < C; ++i) dweight[i] += sums[i];
  if (dbias)
    for (int64_t i = 0; i < C; ++i) dbias[i] += sums[C + i];
  if (next_bias)
    for (int64_t i = 0; i < C; ++i) next->dbias[i] += sums[2 * C + i];
}

template <class T, class D>
void rmsnorm_backward_impl(T* dinp, T* dweight, const D* dout, const T* inp, const T* weight, const T* rstd, int64_t N,
                      int64_t C, const PreparedGradient* next = nullptr) {
  // partial layout: [dweight (C) | next->dbias (C, when asked for)]; without the latter the sums go
  // straight into dweight
  const bool next_bias = next && next->dbias;
  std::vector<T> sums(next_bias ? 2 * C : 0, T(0));
  rows_with_column_sums<T>(N, next_bias ? 2 * C : C, 3 * C, next_bias ? sums.data() : dweight, [&](int64_t n, T* pw) {
    const T* x = inp + n * C;
    const D* dy = dout + n * C;
    T* dx = dinp + n * C;
    const T s = rstd[n];
    T dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t i = 0; i < C; ++i) dot += as_t<T>(dy[i]) * weight[i] * x[i] * s;
    dot /= T(C);
#pragma omp simd
    for (int64_t i = 0; i < C; ++i) {
      const T xhat = x[i] * s;
      pw[i] += as_t<T>(dy[i]) * xhat;
      dx[i] += s * (as_t<T>(dy[i]) * weight[i] - xhat * dot);
    }
    if constexpr (std::is_same_v<T, float>)
      if (next) store_row_bf16(next->dout16 + n * C, dx, C, next_bias ? pw + C : nullptr);
  });
  if (next_bias)
    for (int64_t i = 0; i < C; ++i) {
      dweight[i] += sums[i];
      next->dbias[i] += sums[C + i];
    }
}
}  // namespace

template <class T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, const T* mean,
                        const T* rstd, int64_t N, int64_t C) {
  layernorm_backward_impl(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
}

void layernorm_backward_bf16(float* dinp, float* dweight, float* dbias, const bf16* dout, const float* inp,
                             const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C,
                             const PreparedGradient* next) {
  layernorm_backward_impl(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, next);
}

template <class T>
void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight, const T* rstd, int64_t N,
                      int64_t C) {
  rmsnorm_backward_impl(dinp, dweight, dout, inp, weight, rstd, N, C);
}

void rmsnorm_backward_bf16(float* dinp, float* dweight, const bf16* dout, const float* inp, const float* weight,
                           const float* rstd, int64_t N, int64_t C, const PreparedGradient* next) {
  rmsnorm_backward_impl(dinp, dweight, dout, inp, weight, rstd, N, C, next);
}

#define ROTOR_INSTANTIATE(T)                                                                                     \
  template void layernorm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, double,         \
                                     const T*, T*);                                                             \
  template void layernorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, int64_t,    \
                                      int64_t);                                                                 \
  template void rmsnorm_forward<T>(T*, T*, const T*, const T*, int64_t, int64_t, double, const T*, T*);         \
  template void rmsnorm_backward<T>(T*, T*, const T*, const T*, const T*, const T*, int64_t, int64_t);
ROTOR_INSTANTIATE(float)
ROTOR_INSTANTIATE(double)
#undef ROTOR_INSTANTIATE

}  // namespace rotor::kernels
