#include "rotor/nn/batch_norm.h"

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

Var BatchNorm::forward(const Var& x) {
  const int64_t C = weight_.size(0);
  ROTOR_CHECK(x.dim() >= 2 && x.size(1) == C, "BatchNorm: input ", shape_str(x.shape()), " does not have ", C,
              " channels in dimension 1");
  Shape param_shape(static_cast<size_t>(x.dim()), 1);  // [1, C, 1, ...]
  param_shape[1] = C;
  std::vector<int64_t> axes{0};
  for (int64_t d = 2; d < x.dim(); ++d) axes.push_back(d);
  Var mean, var;
  if (is_training()) {
    const int64_t n = x.numel() / C;
    ROTOR_CHECK(n > 1, "BatchNorm: training needs more than one value per channel, got ", shape_str(x.shape()));
    mean = ag::mean(x, axes, true);
    var = ag::var(x, axes, 0, true);
    ag::NoGradGuard no_grad;
    const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
    running_mean_ = k::add(k::mul_scalar(running_mean_, 1 - momentum_), k::mul_scalar(mean.value().reshape({C}), momentum_))
                        .to(running_mean_.dtype());
    running_var_ = k::add(k::mul_scalar(running_var_, 1 - momentum_),
                          k::mul_scalar(var.value().reshape({C}), momentum_ * unbias))
                       .to(running_var_.dtype());
  } else {
    mean = Var(running_mean_.reshape(param_shape));
    var = Var(running_var_.reshape(param_shape));
  }
  Var normalized = ag::mul(ag::sub(x, mean), ag::rsqrt(ag::add(var, eps_)));
  return ag::add(ag::mul(normalized, ag::reshape(weight_, param_shape)), ag::reshape(bias_, param_shape));
}

GroupNorm::GroupNorm(int64_t groups, int64_t channels, double eps, DType dtype) : groups_(groups), eps_(eps) {
  ROTOR_CHECK(groups > 0 && channels > 0 && channels % groups == 0, "GroupNorm: ", channels,
              " channels do not split into ", groups, " groups");
  weight_ = add_parameter("weight", Tensor::ones({channels}, dtype));
  bias_ = add_parameter("bias", Tensor::zeros({channels}, dtype));
}

Var GroupNorm::forward(const Var& x) const {
  const int64_t C = weight_.size(0);
  ROTOR_CHECK(x.dim() >= 2 && x.size(1) == C, "GroupNorm: input ", shape_str(x.shape()), " does not have ", C,
              " channels in dimension 1");
  const int64_t N = x.size(0);
  Var grouped = ag::reshape(x, {N, groups_, -1});  // [N, G, C/G * positions]
  Var normalized = ag::mul(ag::sub(grouped, ag::mean(grouped, {2}, true)),
                           ag::rsqrt(ag::add(ag::var(grouped, {2}, 0, true), eps_)));
  Shape param_shape(static_cast<size_t>(x.dim()), 1);
  param_shape[1] = C;
  return ag::add(ag::mul(ag::reshape(normalized, x.shape()), ag::reshape(weight_, param_shape)),
                 ag::reshape(bias_, param_shape));
}

}  // namespace rotor::nn
