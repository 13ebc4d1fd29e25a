#include "rotor/kernels/cross_entropy.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "rotor/core/error.h"
#include "rotor/kernels/parallel_rows.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

namespace {

template <class I>
void check_targets(const I* targets, int64_t N, int64_t V, const CrossEntropyOptions& opt) {
  for (int64_t n = 0; n < N; ++n) {
    const int64_t y = targets[n];
    ROTOR_CHECK(y == opt.ignore_index || (y >= 0 && y < V), "cross_entropy: target ", y, " at row ", n,
                " is outside [0, ", V, ")");
  }
}

// Row statistics: max and log-sum-exp (double accumulation for the sum).
template <class T>
inline T row_logsumexp(const T* x, int64_t V) {
#if defined(ROTOR_HAVE_AVX512)
  if constexpr (std::is_same_v<T, float>) {
    __m512 vmax = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (int64_t j = 0; j < V; j += 16) vmax = _mm512_max_ps(vmax, vec::load(x + j, vec::tail_mask(V - j)));
    const float mx = vec::reduce_max(vmax);
    __m512 vsum = _mm512_setzero_ps();
    for (int64_t j = 0; j < V; j += 16) {
      const __mmask16 m = vec::tail_mask(V - j);
      vsum = _mm512_add_ps(vsum, _mm512_maskz_mov_ps(m, vec::exp(_mm512_sub_ps(vec::load(x + j, m), _mm512_set1_ps(mx)))));
    }
    return mx + std::log(vec::reduce_add(vsum));
  }
#endif
  T mx = x[0];
  for (int64_t j = 1; j < V; ++j) mx = x[j] > mx ? x[j] : mx;
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < V; ++j) sum += std::exp(x[j] - mx);
  return mx + std::log(sum);
}

template <class T>
inline double row_loss(const T* x, T lse, int64_t y, int64_t V, double eps) {
  double loss = (1.0 - eps) * (double(lse) - double(x[y]));
  if (eps > 0) {
    double mean_nll = 0;
    for (int64_t j = 0; j < V; ++j) mean_nll += double(lse) - double(x[j]);
    loss += eps * mean_nll / double(V);
  }
  return loss;
}

// g = scale * (softmax(x) - e/V - (1 - e) onehot(y)) for one row with log-sum-exp lse.
template <class T>
inline void write_row_grad(T* g, const T* x, T lse, int64_t y, int64_t V, double eps, T scale) {
  const T smooth = T(eps / double(V));
  int64_t j = 0;
#if defined(ROTOR_HAVE_AVX512)
  if constexpr (std::is_same_v<T, float>)
    for (; j < V; j += 16) {
      const __mmask16 m = vec::tail_mask(V - j);
      const __m512 p = vec::exp(_mm512_sub_ps(vec::load(x + j, m), _mm512_set1_ps(lse)));
      vec::store(g + j, _mm512_mul_ps(_mm512_sub_ps(p, _mm512_set1_ps(smooth)), _mm512_set1_ps(scale)), m);
    }
#endif
  for (; j < V; ++j) g[j] = (std::exp(x[j] - lse) - smooth) * scale;
  g[y] -= T(1.0 - eps) * scale;
}

double mean_of(const std::vector<double>& losses, int64_t count) {
  if (count == 0) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double v : losses) s += v;
  return s / double(count);
}

}  // namespace

template <class T>
double cross_entropy_forward(T* row_losses, const T* logits, const int32_t* targets, int64_t N, int64_t V,
                             const CrossEntropyOptions& opt) {
  check_targets(targets, N, V, opt);
  std::vector<double> losses(N, 0.0);
  parallel_rows(N, 4 * V, [&](int64_t n) {
    const int64_t y = targets[n];
    if (y == opt.ignore_index) return;
    const T* x = logits + n * V;
    losses[n] = row_loss(x, row_logsumexp(x, V), y, V, opt.label_smoothing);
  });
  int64_t count = 0;
  for (int64_t n = 0; n < N; ++n) {
    if (targets[n] != opt.ignore_index) ++count;
    if (row_losses) row_losses[n] = T(losses[n]);
  }
  return mean_of(losses, count);
}

template <class T>
double cross_entropy_forward_backward(T* dlogits, const T* logits, const int32_t* targets, int64_t N, int64_t V,
                                      const CrossEntropyOptions& opt, double grad_scale) {
  check_targets(targets, N, V, opt);
  int64_t count = 0;
  for (int64_t n = 0; n < N; ++n) count += targets[n] != opt.ignore_index;
  const T scale = count ? T(grad_scale / double(count)) : T(0);
  const double eps = opt.label_smoothing;
  std::vector<double> losses(N, 0.0);
  parallel_rows(N, 6 * V, [&](int64_t n) {
    const int64_t y = targets[n];
    const T* x = logits + n * V;
    T* g = dlogits + n * V;
    if (y == opt.ignore_index) {
      for (int64_t j = 0; j < V; ++j) g[j] = 0;
      return;
    }
    const T lse = row_logsumexp(x, V);
    losses[n] = row_loss(x, lse, y, V, eps);
    write_row_grad(g, x, lse, y, V, eps, scale);
  });
  return mean_of(losses, count);
}

template <class T>
void cross_entropy_rows(T* row_losses, T* lse, const T* logits, const int64_t* targets, int64_t N, int64_t V,
                        const CrossEntropyOptions& opt) {
  check_targets(targets, N, V, opt);
  parallel_rows(N, 4 * V, [&](int64_t n) {
    const T* x = logits + n * V;
    lse[n] = row_logsumexp(x, V);
    const int64_t y = targets[n];
    row_losses[n] = y == opt.ignore_index ? T(0) : T(row_loss(x, lse[n], y, V, opt.label_smoothing));
  });
}

template <class T>
void cross_entropy_rows_backward(T* dlogits, const T* logits, const T* lse, const int64_t* targets, const T* row_grad,
                                 int64_t N, int64_t V, const CrossEntropyOptions& opt) {
  parallel_rows(N, 4 * V, [&](int64_t n) {
    T* g = dlogits + n * V;
    const int64_t y = targets[n];
    if (y == opt.ignore_index) {
      for (int64_t j = 0; j < V; ++j) g[j] = 0;
      return;
    }
    write_row_grad(g, logits + n * V, lse[n], y, V, opt.label_smoothing, row_grad[n]);
  });
}

#define ROTOR_INSTANTIATE(T)                                                                                 \
  template double cross_entropy_forward<T>(T*, const T*, const int32_t*, int64_t, int64_t,                  \
                                           const CrossEntropyOptions&);                                     \
  template double cross_entropy_forward_backward<T>(T*, const T*, const int32_t*, int64_t, int64_t,         \
                                                    const CrossEntropyOptions&, double);               \
  template void cross_entropy_rows<T>(T*, T*, const T*, const int64_t*, int64_t, int64_t,                    \
                                      const CrossEntropyOptions&);                                            \
  template void cross_entropy_rows_backward<T>(T*, const T*, const T*, const int64_t*, const T*, int64_t, int64_t, \
                                               const CrossEntropyOptions&);
ROTOR_INSTANTIATE(float)
ROTOR_INSTANTIATE(double)
#undef ROTOR_INSTANTIATE

}  // namespace rotor::kernels
