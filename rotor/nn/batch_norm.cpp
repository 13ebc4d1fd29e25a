#include "rotor/nn/batch_norm.h"

#include <algorithm>
#include <vector>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/views.h"
#include "rotor/kernels/batchnorm.h"
#include "rotor/kernels/elementwise.h"

namespace rotor::nn {

namespace ag = rotor::autograd;
namespace k = rotor::kernels;

BatchNorm::BatchNorm(int64_t channels, double eps, double momentum, DType dtype) : eps_(eps), momentum_(momentum) {
  ROTOR_CHECK(channels > 0, "BatchNorm: channel count must be positive, got ", channels);
  weight_ = add_parameter("weight", Tensor::ones({channels}, dtype));
  bias_ = add_parameter("bias", Tensor::zeros({channels}, dtype));
  running_mean_ = Tensor::zeros({channels}, dtype);
  running_var_ = Tensor::ones({channels}, dtype);
}

namespace {
Shape channel_shape(const Var& x) {  // [1, C, 1, ...]
  Shape s(static_cast<size_t>(x.dim()), 1);
  s[1] = x.size(1);
  return s;
}
}  // namespace

Var batch_norm(const Var& x, const Var& mean, const Var& var, const Var& weight, const Var& bias, double eps) {
  const Shape param_shape = channel_shape(x);
  Var normalized = ag::mul(ag::sub(x, mean), ag::rsqrt(ag::add(var, eps)));
  return ag::add(ag::mul(normalized, ag::reshape(weight, param_shape)), ag::reshape(bias, param_shape));
}

namespace {
std::vector<int64_t> statistics_axes(const Var& x) {  // all but the channels
  std::vector<int64_t> axes{0};
  for (int64_t d = 2; d < x.dim(); ++d) axes.push_back(d);
  return axes;
}
}  // namespace

std::pair<Var, Var> batch_statistics(const Var& x) {
  const std::vector<int64_t> axes = statistics_axes(x);
  return {ag::mean(x, axes, true), ag::var(x, axes, 0, true)};
}

BatchNormOutput batch_norm_training(const Var& x, const Var& weight, const Var& bias, double eps) {
  ROTOR_CHECK(x.dim() >= 2 && x.size(0) >= 1, "batch_norm: input must be [N, C, ...], got ", shape_str(x.shape()));
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / std::max<int64_t>(N * C, 1);
  for (const Var* p : {&weight, &bias})
    ROTOR_CHECK(p->dim() == 1 && p->size(0) == C, "batch_norm: input has ", C, " channels, parameter has shape ",
                shape_str(p->shape()));
  const DType dt = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  auto dense = [dt](const Var& v) { return v.dtype() == dt ? v.value().contiguous() : v.value().to(dt); };
  const Tensor xv = dense(x), wv = dense(weight), bv = dense(bias);
  Tensor y = Tensor::empty(xv.shape(), dt), mean = Tensor::empty({C}, dt), var = Tensor::empty({C}, dt),
         rstd = Tensor::empty({C}, dt);
  auto forward = [&](auto zero) {
    using T = decltype(zero);
    k::batchnorm_forward<T>(y.data<T>(), mean.data<T>(), var.data<T>(), rstd.data<T>(), xv.data<T>(), wv.data<T>(),
                            bv.data<T>(), N, C, S, eps);
  };
  if (dt == DType::f64) forward(0.0);
  else forward(0.0f);
  auto backward = [=](const Tensor& g_in) {
    const Tensor g = g_in.dtype() == dt ? g_in.contiguous() : g_in.to(dt);
    Tensor dx = Tensor::zeros(xv.shape(), dt), dw = Tensor::zeros({C}, dt), db = Tensor::zeros({C}, dt);
    auto run = [&](auto zero) {
      using T = decltype(zero);
      k::batchnorm_backward<T>(dx.data<T>(), dw.data<T>(), db.data<T>(), g.data<T>(), xv.data<T>(), wv.data<T>(),
                               mean.data<T>(), rstd.data<T>(), N, C, S);
    };
    if (dt == DType::f64) run(0.0);
    else run(0.0f);
    return std::vector<Tensor>{dx, dw, db};
  };
  // the same backward as differentiable ops, recomputed from the inputs
  auto backward_graph = [eps](const Var& g, const std::vector<Var>& in) {
    const Var& xin = in[0];
    const std::vector<int64_t> axes = statistics_axes(xin);
    const Shape param_shape = channel_shape(xin);
    const Var r = ag::rsqrt(ag::add(ag::var(xin, axes, 0, true), eps));
    const Var xhat = ag::mul(ag::sub(xin, ag::mean(xin, axes, true)), r);
    const Var gxhat = ag::mul(g, xhat);
    const Var dx = ag::mul(ag::mul(ag::reshape(in[1], param_shape), r),
                           ag::sub(ag::sub(g, ag::mean(g, axes, true)), ag::mul(xhat, ag::mean(gxhat, axes, true))));
    const int64_t channels = xin.size(1);
    return std::vector<Var>{dx, ag::reshape(ag::sum(gxhat, axes), {channels}), ag::reshape(ag::sum(g, axes), {channels})};
  };
  return {ag::record("batch_norm_training", y, {x, weight, bias}, backward, backward_graph), mean, var};
}

Var BatchNorm::forward(const Var& x) {
  const int64_t C = weight_.size(0);
  ROTOR_CHECK(x.dim() >= 2 && x.size(1) == C, "BatchNorm: input ", shape_str(x.shape()), " does not have ", C,
              " channels in dimension 1");
  if (is_training()) {
    const int64_t n = x.numel() / C;
    ROTOR_CHECK(n > 1, "BatchNorm: training needs more than one value per channel, got ", shape_str(x.shape()));
    BatchNormOutput out = batch_norm_training(x, weight_, bias_, eps_);
    const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
    running_mean_ = k::add(k::mul_scalar(running_mean_, 1 - momentum_), k::mul_scalar(out.mean, momentum_))
                        .to(running_mean_.dtype());
    running_var_ = k::add(k::mul_scalar(running_var_, 1 - momentum_), k::mul_scalar(out.var, momentum_ * unbias))
                       .to(running_var_.dtype());
    return out.y;
  }
  return batch_norm(x, Var(running_mean_.reshape(channel_shape(x))), Var(running_var_.reshape(channel_shape(x))),
                    weight_, bias_, eps_);
}

GroupNorm::GroupNorm(int64_t groups, int64_t channels, double eps, DType dtype) : groups_(groups), eps_(eps) {
  ROTOR_CHECK(groups > 0 && channels > 0 && channels % groups == 0, "GroupNorm: ", channels,
              " channels do not split into ", groups, " groups");
  weight_ = add_parameter("weight", Tensor::ones({channels}, dtype));
  bias_ = add_parameter("bias", Tensor::zeros({channels}, dtype));
}

Var group_norm(const Var& x, int64_t groups, const Var& weight, const Var& bias, double eps) {
  ROTOR_CHECK(x.dim() >= 2 && groups > 0 && x.size(1) % groups == 0, "group_norm: input ", shape_str(x.shape()),
              " does not split into ", groups, " groups");
  Var grouped = ag::reshape(x, {x.size(0), groups, -1});  // [N, G, C/G * positions]
  Var normalized = ag::mul(ag::sub(grouped, ag::mean(grouped, {2}, true)),
                           ag::rsqrt(ag::add(ag::var(grouped, {2}, 0, true), eps)));
  const Shape param_shape = channel_shape(x);
  return ag::add(ag::mul(ag::reshape(normalized, x.shape()), ag::reshape(weight, param_shape)),
                 ag::reshape(bias, param_shape));
}

Var GroupNorm::forward(const Var& x) const {
  const int64_t C = weight_.size(0);
  ROTOR_CHECK(x.dim() >= 2 && x.size(1) == C, "GroupNorm: input ", shape_str(x.shape()), " does not have ", C,
              " channels in dimension 1");
  return group_norm(x, groups_, weight_, bias_, eps_);
}

}  // namespace rotor::nn
