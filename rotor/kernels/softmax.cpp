#include "rotor/kernels/softmax.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "rotor/core/threads.h"
#include "rotor/kernels/elementwise.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {
namespace {

// The layout of a contiguous tensor seen as [outer, n, inner] around `axis`.
struct RowLayout {
  int64_t outer = 1, n = 1, inner = 1;
};

RowLayout row_layout(const Shape& shape, int64_t axis, const char* what) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  const int64_t a = axis < 0 ? axis + nd : axis;
  ROTOR_CHECK(a >= 0 && a < nd, what, ": axis ", axis, " is out of range for shape ", shape_str(shape));
  RowLayout r;
  for (int64_t d = 0; d < nd; ++d) (d < a ? r.outer : d == a ? r.n : r.inner) *= shape[d];
  return r;
}

Tensor dense(const Tensor& t, DType dt) { return t.dtype() == dt ? t.contiguous() : t.to(dt); }

// Calls row(x_row_ptr_offset, stride) for every row along the axis.
template <class F>
void for_each_row(const RowLayout& r, F&& row) {
  const int64_t rows = r.outer * r.inner;
#pragma omp parallel for schedule(static) if (rows * r.n >= kParallelThreshold && rows > 1)
  for (int64_t i = 0; i < rows; ++i) row((i / r.inner) * r.n * r.inner + (i % r.inner), r.inner);
}

// sum_i e^{x[i] - m} over [0, n) (accumulated in double), storing the exponentials in y unless y is null.
template <class T>
double exp_shifted_sum(const T* x, T m, T* y, int64_t n) {
#if defined(ROTOR_HAVE_AVX512)
  if constexpr (std::is_same_v<T, float>) {  // the explicit AVX-512 exp (the same bits as math_of's)
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    const __m512 vm = _mm512_set1_ps(m);
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 k = vec::tail_mask(n - i);
      const __m512 e = _mm512_maskz_mov_ps(k, vec::exp(_mm512_sub_ps(vec::load(x + i, k), vm)));
      if (y) vec::store(y + i, e, k);
      lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
      hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
  }
#endif
  double sum = 0;
  if (y) {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) {
      const T e = math_of<T>::exp(x[i] - m);
      y[i] = e;
      sum += e;
    }
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) sum += math_of<T>::exp(x[i] - m);
  }
  return sum;
}

// Softmax of rows along the axis. Contiguous rows (inner == 1) are one vector loop each; otherwise
// each outer slab [n, inner] is processed with `inner` columns side by side (unit stride).
template <class T>
void softmax_rows(const RowLayout& r, const T* x, T* y, bool log) {
  using M = math_of<T>;
  if (r.inner == 1) {
    for_each_row(r, [&](int64_t base, int64_t) {
      const T* xr = x + base;
      T* yr = y + base;
      T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
      for (int64_t i = 0; i < r.n; ++i) m = xr[i] > m ? xr[i] : m;
      if (!std::isfinite(m)) m = 0;
      const double sum = exp_shifted_sum<T>(xr, m, log ? nullptr : yr, r.n);
      if (log) {
        const T lse = static_cast<T>(std::log(sum)) + m;
#pragma omp simd
        for (int64_t i = 0; i < r.n; ++i) yr[i] = xr[i] - lse;
      } else {
        const T inv = static_cast<T>(1.0 / sum);
#pragma omp simd
        for (int64_t i = 0; i < r.n; ++i) yr[i] *= inv;
      }
    });
    return;
  }
  const int64_t slab = r.n * r.inner;
#pragma omp parallel for schedule(static) if (r.outer * slab >= kParallelThreshold && r.outer > 1)
  for (int64_t o = 0; o < r.outer; ++o) {
    const T* xs = x + o * slab;
    T* ys = y + o * slab;
    std::vector<T> m(static_cast<size_t>(r.inner), -std::numeric_limits<T>::infinity());
    std::vector<T> sum(static_cast<size_t>(r.inner), T(0));
    T* mp = m.data();
    T* sp = sum.data();
    for (int64_t i = 0; i < r.n; ++i) {
      const T* xi = xs + i * r.inner;
#pragma omp simd
      for (int64_t j = 0; j < r.inner; ++j) mp[j] = xi[j] > mp[j] ? xi[j] : mp[j];
    }
    for (int64_t j = 0; j < r.inner; ++j)
      if (!std::isfinite(mp[j])) mp[j] = 0;
    for (int64_t i = 0; i < r.n; ++i) {
      const T* xi = xs + i * r.inner;
      T* yi = ys + i * r.inner;
#pragma omp simd
      for (int64_t j = 0; j < r.inner; ++j) {
        const T e = M::exp(xi[j] - mp[j]);
        if (!log) yi[j] = e;
        sp[j] += e;
      }
    }
    for (int64_t j = 0; j < r.inner; ++j) sp[j] = log ? static_cast<T>(std::log(sp[j])) + mp[j] : T(1) / sp[j];
    for (int64_t i = 0; i < r.n; ++i) {
      const T* xi = xs + i * r.inner;
      T* yi = ys + i * r.inner;
      if (log) {
#pragma omp simd
        for (int64_t j = 0; j < r.inner; ++j) yi[j] = xi[j] - sp[j];
      } else {
#pragma omp simd
        for (int64_t j = 0; j < r.inner; ++j) yi[j] *= sp[j];
      }
    }
  }
}

template <class T>
void softmax_backward_rows(const RowLayout& r, const T* y, const T* dy, T* dx, bool log) {
  using M = math_of<T>;
  for_each_row(r, [&](int64_t base, int64_t s) {
    const T* yr = y + base;
    const T* gr = dy + base;
    T* dr = dx + base;
    double acc = 0;
    if (s == 1) {
      if (log) {
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < r.n; ++i) acc += gr[i];
        const T a = static_cast<T>(acc);
#pragma omp simd
        for (int64_t i = 0; i < r.n; ++i) dr[i] = gr[i] - M::exp(yr[i]) * a;
      } else {
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < r.n; ++i) acc += static_cast<double>(gr[i]) * yr[i];
        const T a = static_cast<T>(acc);
#pragma omp simd
        for (int64_t i = 0; i < r.n; ++i) dr[i] = yr[i] * (gr[i] - a);
      }
      return;
    }
    if (log) {
      for (int64_t i = 0; i < r.n; ++i) acc += gr[i * s];
      const T a = static_cast<T>(acc);
      for (int64_t i = 0; i < r.n; ++i) dr[i * s] = gr[i * s] - M::exp(yr[i * s]) * a;
    } else {
      for (int64_t i = 0; i < r.n; ++i) acc += static_cast<double>(gr[i * s]) * yr[i * s];
      const T a = static_cast<T>(acc);
      for (int64_t i = 0; i < r.n; ++i) dr[i * s] = yr[i * s] * (gr[i * s] - a);
    }
  });
}

Tensor softmax_forward(const Tensor& x_in, int64_t axis, bool log, const char* what) {
  const DType dt = compute_dtype(x_in);
  const Tensor x = dense(x_in, dt);
  const RowLayout r = row_layout(x.shape(), axis, what);
  Tensor y = Tensor::empty(x.shape(), dt);
  if (x.numel() == 0) return y;
  if (dt == DType::f64) softmax_rows(r, x.data<double>(), y.data<double>(), log);
  else softmax_rows(r, x.data<float>(), y.data<float>(), log);
  return y;
}

Tensor softmax_grad(const Tensor& y_in, const Tensor& dy_in, int64_t axis, bool log, const char* what) {
  ROTOR_CHECK(y_in.shape() == dy_in.shape(), what, ": output ", shape_str(y_in.shape()), " and gradient ",
              shape_str(dy_in.shape()), " differ in shape");
  const DType dt = compute_dtype(y_in, dy_in);
  const Tensor y = dense(y_in, dt), dy = dense(dy_in, dt);
  const RowLayout r = row_layout(y.shape(), axis, what);
  Tensor dx = Tensor::empty(y.shape(), dt);
  if (y.numel() == 0) return dx;
  if (dt == DType::f64) softmax_backward_rows(r, y.data<double>(), dy.data<double>(), dx.data<double>(), log);
  else softmax_backward_rows(r, y.data<float>(), dy.data<float>(), dx.data<float>(), log);
  return dx;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_forward(x, axis, false, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t axis) { return softmax_forward(x, axis, true, "log_softmax"); }
Tensor softmax_backward(const Tensor& y, const Tensor& dy, int64_t axis) {
  return softmax_grad(y, dy, axis, false, "softmax_backward");
}
Tensor log_softmax_backward(const Tensor& y, const Tensor& dy, int64_t axis) {
  return softmax_grad(y, dy, axis, true, "log_softmax_backward");
}

}  // namespace rotor::kernels
