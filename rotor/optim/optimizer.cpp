#include "rotor/optim/optimizer.h"

#include <cmath>

#include "rotor/core/error.h"

namespace rotor::optim {

namespace {

// The gradient of p as a contiguous f32 buffer, or undefined when p has none.
Tensor grad_of(const Var& p) {
  const Tensor& g = p.grad();
  return !g.defined() || g.is_contiguous() ? g : g.contiguous();
}

}  // namespace

Optimizer::Optimizer(std::vector<Var> params, double lr, const char* name) : params_(std::move(params)), lr_(lr) {
  ROTOR_CHECK(std::isfinite(lr) && lr >= 0, name, ": learning rate must be finite and >= 0, got ", lr);
  for (size_t i = 0; i < params_.size(); ++i) {
    const Var& p = params_[i];
    ROTOR_CHECK(p.defined() && p.requires_grad() && p.is_leaf(), name, ": parameter ", i,
                " is not a leaf that requires a gradient");
    ROTOR_CHECK(p.dtype() == DType::f32 && p.value().is_contiguous(), name, ": parameter ", i,
                " must be a contiguous f32 tensor, got ", p.value().str());
  }
}

void Optimizer::zero_grad() {
  for (Var& p : params_) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
  ROTOR_CHECK(std::isfinite(lr) && lr >= 0, "optimizer: learning rate must be finite and >= 0, got ", lr);
  lr_ = lr;
}

Sgd::Sgd(std::vector<Var> params, double lr, const SgdOptions& options)
    : Optimizer(std::move(params), lr, "sgd"), options_(options), momentum_(params_.size()) {
  ROTOR_CHECK(options.momentum >= 0 && options.weight_decay >= 0, "sgd: momentum ", options.momentum,
              " and weight decay ", options.weight_decay, " must be >= 0");
  ROTOR_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
              "sgd: Nesterov momentum needs momentum > 0 and zero dampening");
}

void Sgd::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = grad_of(params_[i]);
    if (!g.defined()) continue;
    const bool first = options_.momentum != 0 && !momentum_[i].defined();
    if (first) momentum_[i] = Tensor::empty(params_[i].shape(), DType::f32);
    float* buf = momentum_[i].defined() ? momentum_[i].data<float>() : nullptr;
    sgd_step(params_[i].mutable_value().data<float>(), g.data<float>(), buf, params_[i].numel(), lr_, first, options_);
  }
}

Adam::Adam(std::vector<Var> params, double lr, const AdamOptions& options)
    : Optimizer(std::move(params), lr, "adam"), options_(options), m_(params_.size()), v_(params_.size()),
      steps_(params_.size(), 0) {
  ROTOR_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1, "adam: betas (",
              options.beta1, ", ", options.beta2, ") must be in [0, 1)");
  ROTOR_CHECK(options.eps >= 0 && options.weight_decay >= 0, "adam: eps ", options.eps, " and weight decay ",
              options.weight_decay, " must be >= 0");
}

void Adam::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = grad_of(params_[i]);
    if (!g.defined()) continue;
    if (!m_[i].defined()) {
      m_[i] = Tensor::zeros(params_[i].shape(), DType::f32);
      v_[i] = Tensor::zeros(params_[i].shape(), DType::f32);
    }
    adam_step(params_[i].mutable_value().data<float>(), g.data<float>(), m_[i].data<float>(), v_[i].data<float>(),
              params_[i].numel(), lr_, ++steps_[i], options_);
  }
}

}  // namespace rotor::optim
