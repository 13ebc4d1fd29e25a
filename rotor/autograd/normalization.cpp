#include "rotor/autograd/normalization.h"

#include <algorithm>
#include <cmath>

#include "rotor/autograd/gradcheck.h"
#include "rotor/core/threads.h"
#include "rotor/kernels/layernorm.h"

namespace rotor::autograd {

namespace k = rotor::kernels;
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

template <class T>
const T* ptr(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <class T>
T* mptr(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// The norms run on the kernels of rotor/kernels/layernorm.h (the transformer's), which always take a
// weight: an absent weight is a vector of ones whose gradient is dropped.
template <class T>
void forward_kernel(bool rms, const Tensor& x, const Tensor& w, const Tensor& b, const NormShapes& s, double eps,
                    Tensor& y, Tensor& mean, Tensor& rstd) {
  if (rms)
    k::rmsnorm_forward<T>(y.data<T>(), rstd.data<T>(), x.data<T>(), w.data<T>(), s.rows, s.C, eps);
  else
    k::layernorm_forward<T>(y.data<T>(), mean.data<T>(), rstd.data<T>(), x.data<T>(), w.data<T>(), ptr<T>(b), s.rows,
                            s.C, eps);
}

template <class T>
void backward_kernel(bool rms, const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd,
                     const Tensor& g, const NormShapes& s, Tensor& dx, Tensor& dw, Tensor& db) {
  if (rms)
    k::rmsnorm_backward<T>(dx.data<T>(), dw.data<T>(), g.data<T>(), x.data<T>(), w.data<T>(), rstd.data<T>(), s.rows,
                           s.C);
  else
    k::layernorm_backward<T>(dx.data<T>(), dw.data<T>(), mptr<T>(db), g.data<T>(), x.data<T>(), w.data<T>(),
                             mean.data<T>(), rstd.data<T>(), s.rows, s.C);
}

Var norm_op(const char* name, bool rms, const Var& x, const Var& weight, const Var& bias, double eps) {
  const NormShapes s = check_norm(name, x, weight, bias);
  const DType dt = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor xv = dense(x, dt), bv = dense(bias, dt);
  const Tensor wv = weight.defined() ? dense(weight, dt) : Tensor::ones({s.C}, dt);
  Tensor y = Tensor::empty(xv.shape(), dt), mean = Tensor::empty({s.rows}, dt), rstd = Tensor::empty({s.rows}, dt);
  if (dt == DType::f64) forward_kernel<double>(rms, xv, wv, bv, s, eps, y, mean, rstd);
  else forward_kernel<float>(rms, xv, wv, bv, s, eps, y, mean, rstd);
  const bool has_w = weight.defined(), has_b = bias.defined();
  std::vector<Var> inputs{x};
  if (has_w) inputs.push_back(weight);
  if (has_b) inputs.push_back(bias);
  return record(name, y, inputs, [=](const Tensor& g_in) {
    const Tensor g = g_in.dtype() == dt ? g_in.contiguous() : g_in.to(dt);
    // the kernels add into their gradient buffers
    Tensor dx = Tensor::zeros(xv.shape(), dt), dw = Tensor::zeros({s.C}, dt);
    Tensor db = has_b ? Tensor::zeros({s.C}, dt) : Tensor();
    if (dt == DType::f64) backward_kernel<double>(rms, xv, wv, mean, rstd, g, s, dx, dw, db);
    else backward_kernel<float>(rms, xv, wv, mean, rstd, g, s, dx, dw, db);
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
