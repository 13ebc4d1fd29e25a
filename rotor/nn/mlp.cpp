#include "rotor/nn/mlp.h"

namespace rotor::nn {

Mlp::Mlp(int64_t dim, int64_t hidden, Activation act, bool bias, Rng& rng, DType dtype)
    : fc1_(add_module("fc1", std::make_shared<Linear>(dim, hidden, bias, rng, dtype))),
      fc2_(add_module("fc2", std::make_shared<Linear>(hidden, dim, bias, rng, dtype))),
      act_(act) {}

Var Mlp::forward(const Var& x) const { return fc2_->forward(activate(fc1_->forward(x), act_)); }

GatedMlp::GatedMlp(int64_t dim, int64_t hidden, Activation act, Rng& rng, DType dtype)
    : gate_(add_module("gate", std::make_shared<Linear>(dim, hidden, false, rng, dtype))),
      up_(add_module("up", std::make_shared<Linear>(dim, hidden, false, rng, dtype))),
      down_(add_module("down", std::make_shared<Linear>(hidden, dim, false, rng, dtype))),
      act_(act) {}

Var GatedMlp::forward(const Var& x) const {
  return down_->forward(autograd::mul(activate(gate_->forward(x), act_), up_->forward(x)));
}

}  // namespace rotor::nn
