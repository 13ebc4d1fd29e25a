#include "rotor/kernels/batchnorm.h"

#include <cmath>

#include "rotor/core/threads.h"

namespace rotor::kernels {

namespace {

// sum over s < n of f(s), in 16 independent lanes of T (so that the loop vectorises without reassociating
// one chain) added up in double: a run is one channel of one sample, short enough for T's precision.
template <class T, class F>
double lane_sum(int64_t n, F f) {
  constexpr int kLanes = 16;
  T acc[kLanes] = {};
  int64_t s = 0;
  for (; s + kLanes <= n; s += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += f(s + j);
  double total = 0;
  for (; s < n; ++s) total += static_cast<double>(f(s));
  for (int j = 0; j < kLanes; ++j) total += static_cast<double>(acc[j]);
  return total;
}

}  // namespace

template <class T>
void batchnorm_forward(T* out, T* mean, T* var, T* rstd, const T* inp, const T* weight, const T* bias, int64_t N,
                       int64_t C, int64_t S, double eps) {
  const double M = static_cast<double>(N * S);
#pragma omp parallel for schedule(static) if (N * C * S >= kParallelThreshold)
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * S;
      sum += lane_sum<T>(S, [x](int64_t s) { return x[s]; });
    }
    const double mu = sum / M;
    const T m = static_cast<T>(mu);
    double squares = 0;  // two passes: the variance from deviations, not from E[x^2] - mu^2
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * S;
      squares += lane_sum<T>(S, [x, m](int64_t s) { return (x[s] - m) * (x[s] - m); });
    }
    const double v = squares / M, r = 1.0 / std::sqrt(v + eps);
    mean[c] = static_cast<T>(mu);
    var[c] = static_cast<T>(v);
    rstd[c] = static_cast<T>(r);
    const T scale = static_cast<T>(r * static_cast<double>(weight[c]));
    const T shift = static_cast<T>(static_cast<double>(bias[c]) - mu * r * static_cast<double>(weight[c]));
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * S;
      T* y = out + (n * C + c) * S;
      for (int64_t s = 0; s < S; ++s) y[s] = x[s] * scale + shift;
    }
  }
}

template <class T>
void batchnorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, const T* mean,
                        const T* rstd, int64_t N, int64_t C, int64_t S) {
  const double M = static_cast<double>(N * S);
#pragma omp parallel for schedule(static) if (N * C * S >= kParallelThreshold)
  for (int64_t c = 0; c < C; ++c) {
    const double mu = mean[c], r = rstd[c];
    const T m = mean[c];
    double sum_g = 0, sum_gx = 0;  // sum(dout), sum(dout (inp - mean))
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * S;
      const T* g = dout + (n * C + c) * S;
      sum_g += lane_sum<T>(S, [g](int64_t s) { return g[s]; });
      sum_gx += lane_sum<T>(S, [x, g, m](int64_t s) { return g[s] * (x[s] - m); });
    }
    const double sum_gxhat = sum_gx * r;
    dweight[c] += static_cast<T>(sum_gxhat);
    dbias[c] += static_cast<T>(sum_g);
    // dinp = a dout + b x + k, with a = w r, b = -w r^2 sum_gxhat / M, k = -a sum_g / M - b mu
    const double a = static_cast<double>(weight[c]) * r, b = -a * r * sum_gxhat / M;
    const T ta = static_cast<T>(a), tb = static_cast<T>(b), tk = static_cast<T>(-a * sum_g / M - b * mu);
    for (int64_t n = 0; n < N; ++n) {
      const T* x = inp + (n * C + c) * S;
      const T* g = dout + (n * C + c) * S;
      T* dx = dinp + (n * C + c) * S;
      for (int64_t s = 0; s < S; ++s) dx[s] += ta * g[s] + tb * x[s] + tk;
    }
  }
}

template void batchnorm_forward<float>(float*, float*, float*, float*, const float*, const float*, const float*, int64_t,
                                       int64_t, int64_t, double);
template void batchnorm_forward<double>(double*, double*, double*, double*, const double*, const double*, const double*,
                                        int64_t, int64_t, int64_t, double);
template void batchnorm_backward<float>(float*, float*, float*, const float*, const float*, const float*, const float*,
                                        const float*, int64_t, int64_t, int64_t);
template void batchnorm_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                         const double*, const double*, int64_t, int64_t, int64_t);

}  // namespace rotor::kernels
