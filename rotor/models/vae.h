#pragma once
// Gaussian VAE (Kingma & Welling 2014) on binarized 28x28 images, MLP encoder and decoder:
//   encoder  x [N, 784] - fc1 (784 -> hidden) - ReLU - {mu, logvar} heads (hidden -> latent)
//   z = mu + exp(logvar / 2) * eps, eps ~ N(0, I)               (the reparameterization trick)
//   decoder  z - fc3 (latent -> hidden) - ReLU - fc4 (hidden -> 784) Bernoulli logits
// loss = -ELBO per image = BCE(logits, x) summed over pixels + KL(q(z|x) || N(0, I)), in nats.
// evaluate(): -ELBO (one sample) and the importance-weighted bound (Burda et al. 2016) with k samples
//   log p(x) >= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),  reported as test_nll_nats = -bound.
#include "rotor/models/vision_model.h"
#include "rotor/nn/layers.h"

namespace rotor::models {

struct VaeConfig {
  int64_t hidden = 400, latent = 20, iw_samples = 100;
  static VaeConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

class Vae : public VisionModel {
 public:
  Vae(const VaeConfig& config, Rng& rng);
  std::string name() const override { return "vae"; }
  bool binarized_data() const override { return true; }
  nlohmann::json config() const override { return config_.to_json(); }
  Var loss(const VisionData& batch, Rng& rng) override;
  nlohmann::json evaluate(const VisionData& test, Rng& rng) override;
  Tensor sample(int64_t count, Rng& rng) override;

  // x: [N, 784] -> (mu, logvar) [N, latent]; z: [N, latent] -> logits [N, 784].
  std::pair<Var, Var> encode(const Var& x) const;
  Var decode(const Var& z) const;
  // Per-image -ELBO [N] with the given noise eps [N, latent].
  Var negative_elbo(const Var& x, const Tensor& eps) const;

 private:
  VaeConfig config_;
  std::shared_ptr<nn::Linear> fc1_, fc_mu_, fc_logvar_, fc3_, fc4_;
};

}  // namespace rotor::models
