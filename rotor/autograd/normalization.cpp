#include "rotor/autograd/normalization.h"

#include <algorithm>
#include <cmath>

#include "rotor/autograd/gradcheck.h"
#include "rotor/core/threads.h"

namespace rotor::autograd {

using Grads = std::vector<Tensor>;

namespace {

struct NormShapes {
  int64_t rows, C;
};

NormShapes check_norm(const char* what, const Var& x, const Var& weight, const Var& bias) {
  ROTOR_CHECK(x.dim() >= 1, what, ": input must have at least one dimension");
  const int64_t C = x.size(-1);
  for (const Var* p : {&weight, &bias})
    ROTOR_CHECK(!p->defined() || (p->dim() == 1 && p->size(0) == C), what, ": input has ", C,
                " features, parameter has shape ", shape_str(p->shape()));
  return {x.numel() / std::max<int64_t>(C, 1), C};
}

Tensor dense(const Var& v, DType dt) {
  return v.defined() ? (v.dtype() == dt ? v.value().contiguous() : v.value().to(dt)) : Tensor();
}

// Forward for both norms. rms: no mean subtraction, no bias. Writes y, and per row mean and rstd.
// Row statistics accumulate in double; the elementwise part runs in T (vectorised).
template <class T>
void norm_forward(bool rms, const T* x, const T* w, const T* b, int64_t rows, int64_t C, double eps, T* y, T* mean,
                  T* rstd) {
#pragma omp parallel for schedule(static) if (rows * C >= kParallelThreshold)
  for (int64_t n = 0; n < rows; ++n) {
    const T* xr = x + n * C;
    double m = 0;
    if (!rms) {
#pragma omp simd reduction(+ : m)
      for (int64_t c = 0; c < C; ++c) m += xr[c];
      m /= static_cast<double>(C);
    }
    const T mt = static_cast<T>(m);
    double v = 0;
#pragma omp simd reduction(+ : v)
    for (int64_t c = 0; c < C; ++c) {
      const double d = static_cast<double>(xr[c]) - m;
      v += d * d;
    }
    const T r = static_cast<T>(1.0 / std::sqrt(v / static_cast<double>(C) + eps));
    mean[n] = mt;
    rstd[n] = r;
    T* yr = y + n * C;
    if (w && b) {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mt) * r * w[c] + b[c];
    } else if (w) {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mt) * r * w[c];
    } else if (b) {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mt) * r + b[c];
    } else {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mt) * r;
    }
  }
}

// dxhat = dy * w;  dx = rstd * (dxhat - [mean(dxhat)] - xhat * mean(dxhat * xhat));
// dw = sum over rows of dy * xhat; db = sum over rows of dy (threads split the columns, rows in order).
template <class T>
void norm_backward(bool rms, const T* x, const T* w, const T* mean, const T* rstd, const T* dy, int64_t rows,
                   int64_t C, T* dx, T* dw, T* db) {
#pragma omp parallel for schedule(static) if (rows * C >= kParallelThreshold)
  for (int64_t n = 0; n < rows; ++n) {
    const T* xr = x + n * C;
    const T* g = dy + n * C;
    const T m = mean[n], r = rstd[n];
    double sum_d = 0, sum_dx = 0;
#pragma omp simd reduction(+ : sum_d, sum_dx)
    for (int64_t c = 0; c < C; ++c) {
      const T xh = (xr[c] - m) * r;
      const T d = w ? g[c] * w[c] : g[c];
      sum_d += d;
      sum_dx += static_cast<double>(d) * xh;
    }
    const T mean_d = rms ? T(0) : static_cast<T>(sum_d / static_cast<double>(C));
    const T mean_dx = static_cast<T>(sum_dx / static_cast<double>(C));
    T* out = dx + n * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      const T xh = (xr[c] - m) * r;
      const T d = w ? g[c] * w[c] : g[c];
      out[c] = r * (d - mean_d - xh * mean_dx);
    }
  }
  if (!dw && !db) return;
  constexpr int64_t kCols = 64;
  const int64_t blocks = (C + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (rows * C >= kParallelThreshold)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kCols, c1 = std::min(C, c0 + kCols);
    double aw[kCols] = {}, ab[kCols] = {};
    for (int64_t n = 0; n < rows; ++n) {
      const T* xr = x + n * C;
      const T* g = dy + n * C;
      const T m = mean[n], r = rstd[n];
#pragma omp simd
      for (int64_t c = c0; c < c1; ++c) {
        aw[c - c0] += static_cast<double>(g[c] * ((xr[c] - m) * r));
        ab[c - c0] += static_cast<double>(g[c]);
      }
    }
    for (int64_t c = c0; c < c1; ++c) {
      if (dw) dw[c] = static_cast<T>(aw[c - c0]);
      if (db) db[c] = static_cast<T>(ab[c - c0]);
    }
  }
}

template <class T>
const T* ptr(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <class T>
T* mptr(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

Var norm_op(const char* name, bool rms, const Var& x, const Var& weight, const Var& bias, double eps) {
  const NormShapes s = check_norm(name, x, weight, bias);
  const DType dt = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor xv = dense(x, dt), wv = dense(weight, dt), bv = dense(bias, dt);
  Tensor y = Tensor::empty(xv.shape(), dt), mean = Tensor::empty({s.rows}, dt), rstd = Tensor::empty({s.rows}, dt);
  if (dt == DType::f64)
    norm_forward<double>(rms, xv.data<double>(), ptr<double>(wv), ptr<double>(bv), s.rows, s.C, eps, y.data<double>(),
                         mean.data<double>(), rstd.data<double>());
  else
    norm_forward<float>(rms, xv.data<float>(), ptr<float>(wv), ptr<float>(bv), s.rows, s.C, eps, y.data<float>(),
                        mean.data<float>(), rstd.data<float>());
  const bool has_w = weight.defined(), has_b = bias.defined();
  std::vector<Var> inputs{x};
  if (has_w) inputs.push_back(weight);
  if (has_b) inputs.push_back(bias);
  return record(name, y, inputs, [=](const Tensor& g_in) {
    const Tensor g = g_in.dtype() == dt ? g_in.contiguous() : g_in.to(dt);
    Tensor dx = Tensor::empty(xv.shape(), dt);
    Tensor dw = has_w ? Tensor::empty({s.C}, dt) : Tensor(), db = has_b ? Tensor::empty({s.C}, dt) : Tensor();
    if (dt == DType::f64)
      norm_backward<double>(rms, xv.data<double>(), ptr<double>(wv), mean.data<double>(), rstd.data<double>(),
                            g.data<double>(), s.rows, s.C, dx.data<double>(), mptr<double>(dw), mptr<double>(db));
    else
      norm_backward<float>(rms, xv.data<float>(), ptr<float>(wv), mean.data<float>(), rstd.data<float>(),
                           g.data<float>(), s.rows, s.C, dx.data<float>(), mptr<float>(dw), mptr<float>(db));
    Grads grads{dx};
    if (has_w) grads.push_back(dw);
    if (has_b) grads.push_back(db);
    return grads;
  });
}

}  // namespace

Var layer_norm(const Var& x, const Var& weight, const Var& bias, double eps) {
  return norm_op("layer_norm", false, x, weight, bias, eps);
}

Var rms_norm(const Var& x, const Var& weight, double eps) { return norm_op("rms_norm", true, x, weight, Var(), eps); }

void register_normalization_gradchecks(GradcheckRegistry& r) {
  r.add({"layer_norm", "affine", {{{2, 3, 5}, {5}, {5}}, {{4, 1}, {1}, {1}}},
         [](const VarList& in) { return layer_norm(in[0], in[1], in[2]); }});
  r.add({"layer_norm", "no affine", {{{3, 6}}}, [](const VarList& in) { return layer_norm(in[0], Var(), Var()); }});
  r.add({"rms_norm", "weight", {{{2, 3, 5}, {5}}}, [](const VarList& in) { return rms_norm(in[0], in[1]); }});
  r.add({"rms_norm", "no weight", {{{4, 3}}}, [](const VarList& in) { return rms_norm(in[0], Var()); }});
}

}  // namespace rotor::autograd
