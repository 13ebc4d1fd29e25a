#include "rotor/nn/batch_norm.h"

#include <tuple>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/views.h"
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

std::pair<Var, Var> batch_statistics(const Var& x) {
  std::vector<int64_t> axes{0};
  for (int64_t d = 2; d < x.dim(); ++d) axes.push_back(d);
  return {ag::mean(x, axes, true), ag::var(x, axes, 0, true)};
}

Var BatchNorm::forward(const Var& x) {
  const int64_t C = weight_.size(0);
  ROTOR_CHECK(x.dim() >= 2 && x.size(1) == C, "BatchNorm: input ", shape_str(x.shape()), " does not have ", C,
              " channels in dimension 1");
  Var mean, var;
  if (is_training()) {
    const int64_t n = x.numel() / C;
    ROTOR_CHECK(n > 1, "BatchNorm: training needs more than one value per channel, got ", shape_str(x.shape()));
    std::tie(mean, var) = batch_statistics(x);
    ag::NoGradGuard no_grad;
    const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
    running_mean_ = k::add(k::mul_scalar(running_mean_, 1 - momentum_), k::mul_scalar(mean.value().reshape({C}), momentum_))
                        .to(running_mean_.dtype());
    running_var_ = k::add(k::mul_scalar(running_var_, 1 - momentum_),
                          k::mul_scalar(var.value().reshape({C}), momentum_ * unbias))
                       .to(running_var_.dtype());
  } else {
    mean = Var(running_mean_.reshape(channel_shape(x)));
    var = Var(running_var_.reshape(channel_shape(x)));
  }
  return batch_norm(x, mean, var, weight_, bias_, eps_);
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
