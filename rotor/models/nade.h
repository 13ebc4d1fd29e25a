#pragma once
// NADE (Larochelle & Murray 2011): an exact autoregressive density p(x) = prod_t p(x_{o_t} | x_{o_<t}) over
// binarized 28x28 images, one sigmoid hidden layer of `hidden` units whose input weights are shared by all
// conditionals (rotor/nn/nade.h):
//   h_t = sigmoid(c + sum_{s<t} W[o_s] x_{o_s}),   p(x_{o_t} = 1 | x_{o_<t}) = sigmoid(b[o_t] + V[o_t] . h_t)
// Parameters: W [784, hidden] (input weights, row per pixel), c [hidden], V [784, hidden], b [784].
// Orderings: `orderings` of them (0: the raster order, the others random permutations from `order_seed`),
// with W, V, b and c shared by all; training steps cycle through them (an order-agnostic NADE over a fixed
// set of orderings), and the test NLL (nats, exact) is that of the ensemble log mean_o p_o(x).
// Samples are drawn in ordering 0.
#include "rotor/models/vision_model.h"

namespace rotor::models {

struct NadeConfig {
  int64_t hidden = 500, orderings = 1, order_seed = 1;
  static NadeConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

class Nade : public VisionModel {
 public:
  Nade(const NadeConfig& config, Rng& rng);
  std::string name() const override { return "nade"; }
  bool binarized_data() const override { return true; }
  nlohmann::json config() const override { return config_.to_json(); }
  Var loss(const VisionData& batch, Rng& rng) override;
  nlohmann::json evaluate(const VisionData& test, Rng& rng) override;
  Tensor sample(int64_t count, Rng& rng) override;

  // x: [N, 784] binary -> Bernoulli logits [N, 784] in ordering `o`.
  Var forward(const Var& x, int64_t o) const;
  // Per-image log p(x) [N] in ordering `o`.
  Var log_likelihood(const Var& x, int64_t o) const;
  const std::vector<int64_t>& ordering(int64_t o) const { return orderings_[static_cast<size_t>(o)]; }

 private:
  NadeConfig config_;
  Var W_, c_, V_, b_;
  std::vector<std::vector<int64_t>> orderings_;
  int64_t step_ = 0;
};

}  // namespace rotor::models
