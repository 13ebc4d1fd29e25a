#pragma once
// MADE (Germain et al. 2015): an autoencoder whose weights are masked so that output d depends only on the
// pixels before d in an ordering, making it an exact autoregressive density p(x) = prod_d p(x_d | x_<d) over
// binarized 28x28 images.
//   input degrees m0(d) = position of pixel d in the ordering (1..784)
//   hidden degrees m_l(k) ~ U{min(m_{l-1}), ..., 783}; hidden mask M[k, j] = m_l(k) >= m_{l-1}(j)
//   output mask M[d, k] = m0(d) > m_L(k)
// Order- and connectivity-agnostic training: `masks` mask sets (set 0: the natural order, the others a
// random ordering and connectivity each, all drawn from `mask_seed`); training steps cycle through them.
// Test NLL (nats, exact) uses the ensemble of all sets: log p(x) = log mean_s p_s(x).
#include "rotor/models/vision_model.h"
#include "rotor/nn/layers.h"

namespace rotor::models {

struct MadeConfig {
  int64_t hidden = 500, layers = 1, masks = 1, mask_seed = 1;
  static MadeConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

class Made : public VisionModel {
 public:
  Made(const MadeConfig& config, Rng& rng);
  std::string name() const override { return "made"; }
  bool binarized_data() const override { return true; }
  nlohmann::json config() const override { return config_.to_json(); }
  Var loss(const VisionData& batch, Rng& rng) override;
  nlohmann::json evaluate(const VisionData& test, Rng& rng) override;
  Tensor sample(int64_t count, Rng& rng) override;

  // x: [N, 784] binary -> Bernoulli logits [N, 784] under mask set `set`.
  Var forward(const Var& x, int64_t set) const;
  // Per-image log p(x) [N] under mask set `set`.
  Var log_likelihood(const Var& x, int64_t set) const;
  const std::vector<int64_t>& ordering(int64_t set) const { return orderings_[static_cast<size_t>(set)]; }
  const std::vector<Tensor>& masks(int64_t set) const { return masks_[static_cast<size_t>(set)]; }

 private:
  MadeConfig config_;
  std::vector<std::shared_ptr<nn::Linear>> layers_;   // hidden layers, then the output layer
  std::vector<std::vector<Tensor>> masks_;            // [set][layer]: [out, in] 0/1
  std::vector<std::vector<int64_t>> orderings_;       // [set]: pixel indices in generation order
  int64_t step_ = 0;
};

}  // namespace rotor::models
