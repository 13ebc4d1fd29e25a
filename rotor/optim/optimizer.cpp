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

std::map<std::string, Tensor> Adam::state(const std::vector<std::string>& names) const {
  ROTOR_CHECK(names.size() == params_.size(), "adam: ", names.size(), " names for ", params_.size(), " parameters");
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (steps_[i] == 0) continue;
    ROTOR_CHECK(!out.count("step." + names[i]), "adam: parameter name '", names[i], "' given twice");
    out["exp_avg." + names[i]] = m_[i].clone();
    out["exp_avg_sq." + names[i]] = v_[i].clone();
    out["step." + names[i]] = Tensor::from_vector(std::vector<int64_t>{steps_[i]}, {1});
  }
  return out;
}

int64_t Adam::load_state(const std::map<std::string, Tensor>& state, const std::vector<std::string>& names,
                         const std::string& where) {
  ROTOR_CHECK(names.size() == params_.size(), "adam: ", names.size(), " names for ", params_.size(), " parameters");
  // checked in full before anything changes
  std::vector<const Tensor*> m(params_.size(), nullptr), v(params_.size(), nullptr);
  std::vector<int64_t> steps(params_.size(), 0);
  int64_t read = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string keys[3] = {"exp_avg." + names[i], "exp_avg_sq." + names[i], "step." + names[i]};
    const int present = int(state.count(keys[0]) + state.count(keys[1]) + state.count(keys[2]));
    if (present == 0) continue;
    ROTOR_CHECK(present == 3, where, ": the Adam state of '", names[i], "' is incomplete (needs ", keys[0], ", ",
                keys[1], " and ", keys[2], ")");
    for (int k = 0; k < 2; ++k) {
      const Tensor& t = state.at(keys[k]);
      ROTOR_CHECK(t.dtype() == DType::f32 && t.shape() == params_[i].shape(), where, ": tensor '", keys[k], "' is ",
                  t.str(), ", expected f32 ", shape_str(params_[i].shape()));
    }
    const Tensor& s = state.at(keys[2]);
    ROTOR_CHECK(s.dtype() == DType::i64 && s.numel() == 1, where, ": tensor '", keys[2], "' must be one i64, got ",
                s.str());
    steps[i] = s.contiguous().data<int64_t>()[0];
    ROTOR_CHECK(steps[i] >= 1, where, ": tensor '", keys[2], "' holds step ", steps[i], ", expected >= 1");
    m[i] = &state.at(keys[0]);
    v[i] = &state.at(keys[1]);
    read += 3;
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    steps_[i] = steps[i];
    m_[i] = m[i] ? m[i]->clone() : Tensor();
    v_[i] = v[i] ? v[i]->clone() : Tensor();
  }
  return read;
}

}  // namespace rotor::optim
