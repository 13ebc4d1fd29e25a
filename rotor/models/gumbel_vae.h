#pragma once
// VAE with categorical latents (Jang, Gu & Poole 2017) on binarized 28x28 images, MLP encoder/decoder:
//   encoder  x [N, 784] - fc1 (784 -> hidden) - ReLU - fc2 (hidden -> latents * classes) logits
//   z = gumbel_softmax(logits [N, latents, classes], tau), flattened to [N, latents * classes]
//   decoder  z - fc3 (-> hidden) - ReLU - fc4 (hidden -> 784) Bernoulli logits
// loss = BCE(decoder(z), x) summed over pixels + KL(q(z|x) || uniform), the KL analytic per variable:
//   sum_c q_c (log q_c + log classes).
// Temperature annealing (geometric, over the run): tau(s) = tau_start * (tau_end / tau_start)^(s / (S - 1))
// at step s of S, so tau goes from tau_start at the first step to tau_end at the last; evaluation uses
// discrete samples and needs no temperature. `hard`: the forward uses one-hot samples and the gradient is
// the soft sample's (straight through).
// evaluate(): test_neg_elbo_nats with one discrete (Gumbel-max) sample per image, and test_nll_nats the
// importance-weighted bound with k discrete samples, log p(x) >= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x).
#include "rotor/models/vision_model.h"
#include "rotor/nn/layers.h"

namespace rotor::models {

struct GumbelVaeConfig {
  int64_t hidden = 400, latents = 20, classes = 10, iw_samples = 100;
  double tau_start = 1.0, tau_end = 0.5;
  bool hard = false;
  static GumbelVaeConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

class GumbelVae : public VisionModel {
 public:
  GumbelVae(const GumbelVaeConfig& config, Rng& rng);
  std::string name() const override { return "gumbel-vae"; }
  bool binarized_data() const override { return true; }
  nlohmann::json config() const override { return config_.to_json(); }
  void set_progress(int64_t step, int64_t total) override;
  Var loss(const VisionData& batch, Rng& rng) override;
  nlohmann::json evaluate(const VisionData& test, Rng& rng) override;
  Tensor sample(int64_t count, Rng& rng) override;

  double temperature() const { return tau_; }
  // x [N, 784] -> logits [N, latents, classes]; z [N, latents, classes] -> pixel logits [N, 784].
  Var encode(const Var& x) const;
  Var decode(const Var& z) const;
  // Per-image BCE(decode(z), x) + KL(q(z|x) || uniform) [N], for the given latent sample z.
  Var negative_elbo(const Var& x, const Var& logits, const Var& z) const;

 private:
  GumbelVaeConfig config_;
  double tau_;
  std::shared_ptr<nn::Linear> fc1_, fc2_, fc3_, fc4_;
};

}  // namespace rotor::models
