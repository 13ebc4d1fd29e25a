#include "rotor/kernels/layernorm.h"

#include <cmath>

#include "rotor/kernels/parallel_rows.h"

namespace rotor::kernels {

template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C,
                       double eps) {
  parallel_rows(N, C, [&](int64_t n) {
    const T* x = inp + n * C;
    T* y = out + n * C;
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
  });
}

template <class T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, const T* mean,
                        const T* rstd, int64_t N, int64_t C) {
  // partial layout: [dweight (C) | dbias (C)]
  std::vector<T> sums(2 * C, T(0));
  rows_with_column_sums<T>(N, 2 * C, 4 * C, sums.data(), [&](int64_t n, T* partial) {
    const T* x = inp + n * C;
    const T* dy = dout + n * C;
    T* dx = dinp + n * C;
    const T m = mean[n], s = rstd[n];
    T dnorm_mean = 0, dnorm_xhat_mean = 0;
#pragma omp simd reduction(+ : dnorm_mean, dnorm_xhat_mean)
    for (int64_t i = 0; i < C; ++i) {
      const T xhat = (x[i] - m) * s;
      const T dnorm = dy[i] * weight[i];
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
      const T dnorm = dy[i] * weight[i];
      pw[i] += dy[i] * xhat;
      pb[i] += dy[i];
      dx[i] += s * (dnorm - dnorm_mean - xhat * dnorm_xhat_mean);
    }
  });
  for (int64_t i = 0; i < C; ++i) dweight[i] += sums[i];
  if (dbias)
    for (int64_t i = 0; i < C; ++i) dbias[i] += sums[C + i];
}

template <class T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int64_t N, int64_t C, double eps) {
  parallel_rows(N, C, [&](int64_t n) {
    const T* x = inp + n * C;
    T* y = out + n * C;
    T ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t i = 0; i < C; ++i) ss += x[i] * x[i];
    const T s = T(1) / std::sqrt(ss / T(C) + T(eps));
#pragma omp simd
    for (int64_t i = 0; i < C; ++i) y[i] = x[i] * s * weight[i];
    rstd[n] = s;
  });
}

template <class T>
void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight, const T* rstd, int64_t N,
                      int64_t C) {
  rows_with_column_sums<T>(N, C, 3 * C, dweight, [&](int64_t n, T* pw) {
    const T* x = inp + n * C;
    const T* dy = dout + n * C;
    T* dx = dinp + n * C;
    const T s = rstd[n];
    T dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t i = 0; i < C; ++i) dot += dy[i] * weight[i] * x[i] * s;
    dot /= T(C);
#pragma omp simd
    for (int64_t i = 0; i < C; ++i) {
      const T xhat = x[i] * s;
      pw[i] += dy[i] * xhat;
      dx[i] += s * (dy[i] * weight[i] - xhat * dot);
    }
  });
}

#define ROTOR_INSTANTIATE(T)                                                                                     \
  template void layernorm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, double);       \
  template void layernorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, int64_t,    \
                                      int64_t);                                                                 \
  template void rmsnorm_forward<T>(T*, T*, const T*, const T*, int64_t, int64_t, double);                       \
  template void rmsnorm_backward<T>(T*, T*, const T*, const T*, const T*, const T*, int64_t, int64_t);
ROTOR_INSTANTIATE(float)
ROTOR_INSTANTIATE(double)
#undef ROTOR_INSTANTIATE

}  // namespace rotor::kernels
