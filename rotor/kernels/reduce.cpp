#include "rotor/kernels/reduce.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "rotor/core/threads.h"
#include "rotor/kernels/elementwise.h"
#include "rotor/core/strided_loop.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

using detail::make_plan;
using detail::StridedPlan;

namespace {

enum class Kind { sum, max, min };
constexpr int64_t kBlock = 1 << 14;  // elements per block when one output reduces a long range

struct Combine {
  Kind kind;
  double init() const {
    return kind == Kind::sum ? 0.0
           : kind == Kind::max ? -std::numeric_limits<double>::infinity()
                               : std::numeric_limits<double>::infinity();
  }
  double operator()(double acc, double v) const {
    switch (kind) {
      case Kind::sum: return acc + v;
      case Kind::max: return (v > acc || std::isnan(v)) ? v : acc;
      case Kind::min: return (v < acc || std::isnan(v)) ? v : acc;
    }
    return acc;
  }
};

// Sum (in double) of a unit-stride run. For floats, 64 at a time: four vectors added pairwise in float
// (two roundings per element at most), widened to double and added to two double accumulators, so that
// the additions are not serialised on one register (the compiler's `omp simd reduction` keeps one) and
// the widening conversions, the bottleneck when every float is widened, are a quarter as many.
template <class T>
double sum_run(const T* q, int64_t n) {
#if defined(ROTOR_HAVE_AVX512)
  if constexpr (std::is_same_v<T, float>) {
    __m512d a[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
      const __m512 f = _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(q + i + 16)),
                                     _mm512_add_ps(_mm512_loadu_ps(q + i + 32), _mm512_loadu_ps(q + i + 48)));
      a[0] = _mm512_add_pd(a[0], _mm512_cvtps_pd(_mm512_castps512_ps256(f)));
      a[1] = _mm512_add_pd(a[1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))));
    }
    for (; i + 8 <= n; i += 8) a[0] = _mm512_add_pd(a[0], _mm512_cvtps_pd(_mm256_loadu_ps(q + i)));
    double s = _mm512_reduce_add_pd(_mm512_add_pd(a[0], a[1]));
    for (; i < n; ++i) s += static_cast<double>(q[i]);
    return s;
  }
#endif
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(q[i]);
  return s;
}

// Max (is_max) or min of a unit-stride run, and whether it holds a NaN (which must win). For floats, four
// vector accumulators (the compiler's `omp simd reduction` keeps one, serialising the compares).
template <class T>
T extreme_run(const T* q, int64_t n, bool is_max, T init, bool& nan) {
  T m = init;
  int64_t i = 0;
  int any_nan = 0;
#if defined(ROTOR_HAVE_AVX512)
  if constexpr (std::is_same_v<T, float>) {
    if (n >= 64) {
      __m512 a[4];
      __mmask16 un = 0;
      for (auto& v : a) v = _mm512_set1_ps(init);
      for (; i + 64 <= n; i += 64)
#pragma GCC unroll 4
        for (int l = 0; l < 4; ++l) {
          const __m512 v = _mm512_loadu_ps(q + i + 16 * l);
          un |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
          a[l] = is_max ? _mm512_max_ps(v, a[l]) : _mm512_min_ps(v, a[l]);
        }
      const __m512 r = is_max ? _mm512_max_ps(_mm512_max_ps(a[0], a[1]), _mm512_max_ps(a[2], a[3]))
                              : _mm512_min_ps(_mm512_min_ps(a[0], a[1]), _mm512_min_ps(a[2], a[3]));
      m = is_max ? _mm512_reduce_max_ps(r) : _mm512_reduce_min_ps(r);
      any_nan = un != 0;
    }
  }
#endif
  if (is_max) {
#pragma omp simd reduction(max : m) reduction(| : any_nan)
    for (int64_t j = i; j < n; ++j) {
      m = q[j] > m ? q[j] : m;
      any_nan |= q[j] != q[j];
    }
  } else {
#pragma omp simd reduction(min : m) reduction(| : any_nan)
    for (int64_t j = i; j < n; ++j) {
      m = q[j] < m ? q[j] : m;
      any_nan |= q[j] != q[j];
    }
  }
  nan = any_nan != 0;
  return m;
}

// Accumulate elements with flat indices [e0, e1) of the plan's index space, starting from `base`.
template <class T>
double accumulate_range(const StridedPlan<1>& p, const T* x, int64_t e0, int64_t e1, double acc, Combine c) {
  const int64_t nd = static_cast<int64_t>(p.shape.size());
  const int64_t len = p.shape[nd - 1], st = p.strides[0][nd - 1];
  int64_t row = e0 / len, col = e0 % len;
  int64_t e = e0;
  while (e < e1) {
    int64_t off = 0, r = row;
    for (int64_t d = nd - 2; d >= 0; --d) {
      off += (r % p.shape[d]) * p.strides[0][d];
      r /= p.shape[d];
    }
    const int64_t stop = std::min<int64_t>(len, col + (e1 - e));
    const T* q = x + off;
    if (c.kind == Kind::sum && st == 1) {
      acc += sum_run(q + col, stop - col);
    } else if (st == 1) {
      // max/min over a unit-stride run: vector reduction, NaN tracked separately (it must win).
      bool nan = false;
      const T m = extreme_run(q + col, stop - col, c.kind == Kind::max, static_cast<T>(c.init()), nan);
      acc = nan ? std::numeric_limits<double>::quiet_NaN() : c(acc, static_cast<double>(m));
    } else {
      for (int64_t i = col; i < stop; ++i) acc = c(acc, static_cast<double>(q[i * st]));
    }
    e += stop - col;
    col = 0;
    ++row;
  }
  return acc;
}

template <class T>
Tensor reduce_typed(const Tensor& x, const Axes& axes, Kind kind) {
  Combine c{kind};
  Shape kept_shape, kept_strides, red_shape, red_strides;
  for (int64_t d = 0, k = 0; d < x.dim(); ++d) {
    const bool reduced = k < static_cast<int64_t>(axes.size()) && axes[k] == d;
    if (reduced) ++k;
    (reduced ? red_shape : kept_shape).push_back(x.size(d));
    (reduced ? red_strides : kept_strides).push_back(x.stride(d));
  }
  const int64_t n_out = shape_numel(kept_shape), n_red = shape_numel(red_shape);
  ROTOR_CHECK(n_red > 0 || kind == Kind::sum, "reduce: cannot take the max/min of an empty range in a tensor of shape ",
              shape_str(x.shape()));
  Tensor out = Tensor::empty(kept_shape, x.dtype());
  T* o = static_cast<T*>(out.raw_data());
  const T* xp = static_cast<const T*>(x.raw_data());
  if (n_out == 0) return out;
  const auto red = make_plan<1>(red_shape, {red_strides});
  const auto kept = make_plan<1>(kept_shape, {kept_strides});
  const bool big = n_out * n_red >= kParallelThreshold && omp_get_max_threads() > 1 && !omp_in_parallel();

  // Case 1: few outputs, long reductions: fixed blocks, combined in order.
  if (n_out < 4 && n_red >= 2 * kBlock) {
    const int64_t nblocks = (n_red + kBlock - 1) / kBlock;
    std::vector<double> partial(static_cast<size_t>(nblocks));
    for (int64_t oi = 0; oi < n_out; ++oi) {
      int64_t base = 0, r = oi;
      for (int64_t d = static_cast<int64_t>(kept_shape.size()) - 1; d >= 0; --d) {
        base += (r % kept_shape[d]) * kept_strides[d];
        r /= kept_shape[d];
      }
#pragma omp parallel for schedule(static) if (big)
      for (int64_t b = 0; b < nblocks; ++b)
        partial[b] = accumulate_range(red, xp + base, b * kBlock, std::min(n_red, (b + 1) * kBlock), c.init(), c);
      double acc = c.init();
      for (double v : partial) acc = c(acc, v);
      o[oi] = static_cast<T>(acc);
    }
    return out;
  }

  // Case 2: the kept dimensions form one unit-stride run below all reduced dimensions
  // (e.g. summing [N, C] over N): accumulate whole rows, threads split the columns.
  const bool kept_inner = kept.shape.size() == 1 && kept.strides[0][0] == 1 && !red_shape.empty() &&
                          [&] {
                            for (int64_t s : red.strides[0])
                              if (s < n_out) return false;
                            return true;
                          }();
  if (kept_inner && n_out >= 16) {
    const int64_t rows = n_red;
    const int64_t nchunks = big ? std::min<int64_t>(omp_get_max_threads(), (n_out + 15) / 16) : 1;
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t ch = 0; ch < nchunks; ++ch) {
      const int64_t j0 = n_out * ch / nchunks, j1 = n_out * (ch + 1) / nchunks;
      std::vector<double> acc(static_cast<size_t>(j1 - j0), c.init());
      for (int64_t r = 0; r < rows; ++r) {
        int64_t off = 0, rr = r;
        for (int64_t d = static_cast<int64_t>(red.shape.size()) - 1; d >= 0; --d) {
          off += (rr % red.shape[d]) * red.strides[0][d];
          rr /= red.shape[d];
        }
        const T* q = xp + off;
        if (kind == Kind::sum) {
          double* a = acc.data() - j0;
#pragma omp simd
          for (int64_t j = j0; j < j1; ++j) a[j] += static_cast<double>(q[j]);
        } else {
          for (int64_t j = j0; j < j1; ++j) acc[j - j0] = c(acc[j - j0], static_cast<double>(q[j]));
        }
      }
      for (int64_t j = j0; j < j1; ++j) o[j] = static_cast<T>(acc[j - j0]);
    }
    return out;
  }

  // Case 3: one output at a time, outputs split across threads.
#pragma omp parallel for schedule(static) if (big)
  for (int64_t oi = 0; oi < n_out; ++oi) {
    int64_t base = 0, r = oi;
    for (int64_t d = static_cast<int64_t>(kept.shape.size()) - 1; d >= 0; --d) {
      base += (r % kept.shape[d]) * kept.strides[0][d];
      r /= kept.shape[d];
    }
    o[oi] = static_cast<T>(n_red == 0 ? 0.0 : accumulate_range(red, xp + base, 0, n_red, c.init(), c));
  }
  return out;
}

Tensor reduce(const Tensor& x_in, const Axes& axes_in, bool keepdim, Kind kind, const char* what) {
  ROTOR_CHECK(x_in.defined(), what, ": undefined tensor");
  const Axes axes = normalize_axes(axes_in, x_in.dim(), what);
  const DType dt = compute_dtype(x_in);
  const Tensor x = x_in.dtype() == dt ? x_in : x_in.to(dt);
  Tensor out = dt == DType::f64 ? reduce_typed<double>(x, axes, kind) : reduce_typed<float>(x, axes, kind);
  return keepdim ? out.view(reduced_shape(x.shape(), axes, true)) : out;
}

int64_t reduced_count(const Shape& shape, const Axes& axes) {
  int64_t n = 1;
  for (int64_t a : axes) n *= shape[a];
  return n;
}

template <bool kMax>
Tensor arg_extreme(const Tensor& x_in, int64_t axis, bool keepdim, const char* what) {
  const Axes axes = normalize_axes({axis}, x_in.dim(), what);
  const Tensor x = x_in.to(compute_dtype(x_in) == DType::f64 ? DType::f64 : DType::f32);
  const int64_t a = axes[0], n = x.size(a), stride = x.stride(a);
  ROTOR_CHECK(n > 0, what, ": axis ", axis, " of shape ", shape_str(x.shape()), " is empty");
  // x is contiguous: outer x n x inner.
  int64_t inner = 1;
  for (int64_t d = a + 1; d < x.dim(); ++d) inner *= x.size(d);
  const int64_t outer = x.numel() / (n * inner);
  Tensor out = Tensor::empty(reduced_shape(x.shape(), axes, false), DType::i64);
  int64_t* o = out.data<int64_t>();
  auto run = [&](auto* p) {
#pragma omp parallel for schedule(static) if (x.numel() >= kParallelThreshold)
    for (int64_t oi = 0; oi < outer * inner; ++oi) {
      const auto* q = p + (oi / inner) * n * inner + (oi % inner);
      int64_t best = 0;
      auto bv = q[0];
      for (int64_t i = 1; i < n; ++i) {
        const auto v = q[i * stride];
        if (std::isnan(bv)) break;
        if (kMax ? (v > bv || std::isnan(v)) : (v < bv || std::isnan(v))) {
          bv = v;
          best = i;
        }
      }
      o[oi] = best;
    }
  };
  if (x.dtype() == DType::f64) run(x.data<double>());
  else run(x.data<float>());
  return keepdim ? out.view(reduced_shape(x.shape(), axes, true)) : out;
}

}  // namespace

Axes normalize_axes(const Axes& axes, int64_t ndim, const char* what) {
  Axes out;
  if (axes.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t a : axes) {
    const int64_t r = a < 0 ? a + ndim : a;
    ROTOR_CHECK(r >= 0 && r < ndim, what, ": axis ", a, " is out of range for a tensor with ", ndim, " dimensions");
    out.push_back(r);
  }
  std::sort(out.begin(), out.end());
  ROTOR_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), what, ": an axis is repeated");
  return out;
}

Shape reduced_shape(const Shape& shape, const Axes& axes, bool keepdim) {
  Shape out;
  for (int64_t d = 0, k = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    const bool reduced = k < static_cast<int64_t>(axes.size()) && axes[k] == d;
    if (reduced) ++k;
    if (!reduced) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

Tensor sum(const Tensor& x, const Axes& axes, bool keepdim) { return reduce(x, axes, keepdim, Kind::sum, "sum"); }
Tensor max(const Tensor& x, const Axes& axes, bool keepdim) { return reduce(x, axes, keepdim, Kind::max, "max"); }
Tensor min(const Tensor& x, const Axes& axes, bool keepdim) { return reduce(x, axes, keepdim, Kind::min, "min"); }

Tensor mean(const Tensor& x, const Axes& axes, bool keepdim) {
  const int64_t n = reduced_count(x.shape(), normalize_axes(axes, x.dim(), "mean"));
  Tensor s = sum(x, axes, keepdim);
  return mul_scalar(s, n == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / static_cast<double>(n));
}

Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdim) {
  Tensor m = max(x, axes, true);
  // Rows whose max is +-inf or NaN: shift by 0 so that exp(x - m) does not produce NaN from inf - inf.
  Tensor finite_m = where(compare(CompareOp::eq, sub(m, m), Tensor::zeros({}, m.dtype())), m,
                          Tensor::zeros({}, m.dtype()));
  Tensor s = sum(exp(sub(x, finite_m)), axes, true);
  Tensor out = add(log(s), finite_m);
  return keepdim ? out : out.view(reduced_shape(x.shape(), normalize_axes(axes, x.dim(), "logsumexp"), false));
}

Tensor var(const Tensor& x, const Axes& axes, int64_t correction, bool keepdim) {
  const int64_t n = reduced_count(x.shape(), normalize_axes(axes, x.dim(), "var"));
  Tensor d = sub(x, mean(x, axes, true));
  Tensor ss = sum(mul(d, d), axes, keepdim);
  const double denom = static_cast<double>(n - correction);
  return mul_scalar(ss, denom > 0 ? 1.0 / denom : std::numeric_limits<double>::quiet_NaN());
}

Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) { return arg_extreme<true>(x, axis, keepdim, "argmax"); }
Tensor argmin(const Tensor& x, int64_t axis, bool keepdim) { return arg_extreme<false>(x, axis, keepdim, "argmin"); }

Tensor sum_to_shape(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  ROTOR_CHECK(broadcast_shapes(shape, x.shape()) == x.shape(), "sum_to_shape: ", shape_str(shape),
              " does not broadcast to ", shape_str(x.shape()));
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  Axes axes;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.size(d) != 1)) axes.push_back(d);
  if (axes.empty()) return x.reshape(shape);
  return sum(x, axes, true).reshape(shape);
}

}  // namespace rotor::kernels
