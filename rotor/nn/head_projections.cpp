#include "rotor/nn/head_projections.h"

#include "rotor/autograd/views.h"

namespace rotor::nn {

namespace ag = rotor::autograd;

HeadProjections::HeadProjections(int64_t dim, int64_t heads, Rng& rng, DType dtype, const char* what)
    : heads_(heads), what_(what) {
  ROTOR_CHECK(heads > 0 && dim > 0 && dim % heads == 0, what, ": width ", dim, " is not divisible by ", heads, " heads");
  q_ = add_module("q", std::make_shared<Linear>(dim, dim, true, rng, dtype));
  k_ = add_module("k", std::make_shared<Linear>(dim, dim, true, rng, dtype));
  v_ = add_module("v", std::make_shared<Linear>(dim, dim, true, rng, dtype));
  out_ = add_module("out", std::make_shared<Linear>(dim, dim, true, rng, dtype));
}

HeadProjections::Heads HeadProjections::project(const Var& x) const {
  ROTOR_CHECK(x.dim() == 3 && x.size(2) == q_->in_features(), what_, ": input ", shape_str(x.shape()),
              " should be [B, T, ", q_->in_features(), "]");
  const int64_t B = x.size(0), T = x.size(1), Dh = x.size(2) / heads_;
  auto split = [&](const Var& y) { return ag::permute(ag::reshape(y, {B, T, heads_, Dh}), {0, 2, 1, 3}); };
  return {split(q_->forward(x)), split(k_->forward(x)), split(v_->forward(x))};
}

Var HeadProjections::output(const Var& y) const {
  const int64_t B = y.size(0), T = y.size(2);
  return out_->forward(ag::reshape(ag::permute(y, {0, 2, 1, 3}), {B, T, q_->in_features()}));
}

HeadProjections::Heads HeadProjections::project_step(const Var& x) const {
  ROTOR_CHECK(x.dim() == 2 && x.size(1) == q_->in_features(), what_, ": step input ", shape_str(x.shape()),
              " should be [B, ", q_->in_features(), "]");
  const int64_t B = x.size(0), Dh = x.size(1) / heads_;
  auto split = [&](const Var& y) { return ag::reshape(y, {B, heads_, Dh}); };
  return {split(q_->forward(x)), split(k_->forward(x)), split(v_->forward(x))};
}

Var HeadProjections::output_step(const Var& y) const {
  return out_->forward(ag::reshape(y, {y.size(0), q_->in_features()}));
}

}  // namespace rotor::nn
