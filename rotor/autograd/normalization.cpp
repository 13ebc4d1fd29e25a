#include "rotor/autograd/normalization.h"

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
template <class T>
void norm_forward(bool rms, const T* x, const T* w, const T* b, int64_t rows, int64_t C, double eps, T* y, T* mean,
                  T* rstd) {
#pragma omp parallel for schedule(static) if (rows * C >= kParallelThreshold)
  for (int64_t n = 0; n < rows; ++n) {
    const T* xr = x + n * C;
    double m = 0;
    if (!rms) {
      for (int64_t c = 0; c < C; ++c) m += xr[c];
      m /= static_cast<double>(C);
    }
    double v = 0;
    for (int64_t c = 0; c < C; ++c) v += (xr[c] - m) * (xr[c] - m);
    const double r = 1.0 / std::sqrt(v / static_cast<double>(C) + eps);
    mean[n] = static_cast<T>(m);
    rstd[n] = static_cast<T>(r);
    T* yr = y + n * C;
    for (int64_t c = 0; c < C; ++c) {
      T h = static_cast<T>((xr[c] - m) * r);
      if (w) h *= w[c];
      if (b) h += b[c];
      yr[c] = h;
    }
  }
}

// dxhat = dy * w;  dx = rstd * (dxhat - [mean(dxhat)] - xhat * mean(dxhat * xhat));
// dw += dy * xhat; db += dy (summed over rows in order, serial over rows for determinism).
template <class T>
void norm_backward(bool rms, const T* x, const T* w, const T* mean, const T* rstd, const T* dy, int64_t rows,
                   int64_t C, T* dx, T* dw, T* db) {
#pragma omp parallel for schedule(static) if (rows * C >= kParallelThreshold)
  for (int64_t n = 0; n < rows; ++n) {
    const T* xr = x + n * C;
    const T* g = dy + n * C;
    double sum_d = 0, sum_dx = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double xh = (xr[c] - mean[n]) * rstd[n];
      const double d = w ? g[c] * w[c] : g[c];
      sum_d += d;
      sum_dx += d * xh;
    }
    const double mean_d = rms ? 0.0 : sum_d / static_cast<double>(C), mean_dx = sum_dx / static_cast<double>(C);
    T* out = dx + n * C;
    for (int64_t c = 0; c < C; ++c) {
      const double xh = (xr[c] - mean[n]) * rstd[n];
      const double d = w ? g[c] * w[c] : g[c];
      out[c] = static_cast<T>(rstd[n] * (d - mean_d - xh * mean_dx));
    }
  }
  if (dw || db) {
    std::vector<double> aw(static_cast<size_t>(C), 0.0), ab(static_cast<size_t>(C), 0.0);
    for (int64_t n = 0; n < rows; ++n) {
      const T* xr = x + n * C;
      const T* g = dy + n * C;
      for (int64_t c = 0; c < C; ++c) {
        aw[c] += static_cast<double>(g[c]) * ((xr[c] - mean[n]) * rstd[n]);
        ab[c] += g[c];
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      if (dw) dw[c] = static_cast<T>(aw[c]);
      if (db) db[c] = static_cast<T>(ab[c]);
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
