#pragma once
// GANs on 28x28 images in [-1, 1] (x = 2 pixel - 1), trained in two phases (rotor/models/vision_model.h).
//
//   generator      z [N, z] ~ N(0, I) - fc (z -> 2g 7 7) - BatchNorm - ReLU
//                  - ConvTranspose 4x4 stride 2 (2g -> g, 14x14) - BatchNorm - ReLU
//                  - ConvTranspose 4x4 stride 2 (g -> 1, 28x28) - tanh
//   discriminator  x [N, 1, 28, 28] - Conv 4x4 stride 2 (1 -> d, 14x14) - LeakyReLU 0.2
//   / critic       - Conv 4x4 stride 2 (d -> 2d, 7x7) - [BatchNorm: dcgan only] - LeakyReLU 0.2 - fc (2d 7 7 -> 1)
// Weights N(0, 0.02), BatchNorm scales N(1, 0.02), biases 0 (Radford et al. 2016).
//
// dcgan (Radford et al. 2016): the non-saturating loss with logits D,
//   discriminator  BCE(D(x), 1) + BCE(D(G(z)), 0),     generator  BCE(D(G(z)), 1);
//   Adam lr 2e-4, betas (0.5, 0.999), one discriminator and one generator step per batch.
// wgan-gp (Gulrajani et al. 2017): a critic without BatchNorm,
//   critic     E[D(G(z))] - E[D(x)] + lambda E[(||grad_x D(x_hat)||_2 - 1)^2],  x_hat = e x + (1 - e) G(z), e ~ U(0, 1),
//   generator  -E[D(G(z))] after every n_critic critic steps; Adam lr 1e-4, betas (0, 0.9), lambda 10, n_critic 5.
//   The penalty's gradient w.r.t. x_hat is taken with grad(..., create_graph = true), so its own gradient
//   reaches the critic's parameters. The step figure "wasserstein" is E[D(x)] - E[D(G(z))].
// evaluate(): dcgan: the discriminator's accuracy on the test images (real) and as many samples (fake);
//   wgan-gp: the critic's Wasserstein estimate on the test images against as many samples.
#include "rotor/models/vision_model.h"
#include "rotor/nn/batch_norm.h"
#include "rotor/nn/conv.h"
#include "rotor/nn/layers.h"

namespace rotor::models {

struct GanConfig {
  bool wasserstein = false;  // false: dcgan, true: wgan-gp
  int64_t z = 64, g_channels = 64, d_channels = 64;
  double lr = 2e-4, beta1 = 0.5, beta2 = 0.999;
  int64_t n_critic = 1;
  double gp_lambda = 10;  // wgan-gp only
  static GanConfig from_json(const nlohmann::json& j, bool wasserstein);
  nlohmann::json to_json() const;
};

class GanGenerator : public nn::Module {
 public:
  GanGenerator(int64_t z, int64_t channels, Rng& rng);
  Var forward(const Var& z);  // [N, z] -> [N, 1, 28, 28] in (-1, 1)
  io::TensorMap buffers() const;

 private:
  int64_t channels_;
  std::shared_ptr<nn::Linear> fc_;
  std::shared_ptr<nn::BatchNorm> bn0_, bn1_;
  std::shared_ptr<nn::ConvTranspose2d> up1_, up2_;
};

class GanCritic : public nn::Module {
 public:
  GanCritic(int64_t channels, bool batch_norm, Rng& rng);
  Var forward(const Var& x);  // [N, 1, 28, 28] -> [N, 1] (logits / critic values)
  io::TensorMap buffers() const;

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm> bn_;  // null without BatchNorm
  std::shared_ptr<nn::Linear> fc_;
};

class Gan : public VisionModel {
 public:
  Gan(const GanConfig& config, Rng& rng);
  std::string name() const override { return config_.wasserstein ? "wgan-gp" : "dcgan"; }
  nlohmann::json config() const override { return config_.to_json(); }
  Var loss(const VisionData& batch, Rng& rng) override;  // the critic's / discriminator's loss
  std::vector<TrainingPhase> training_phases() const override;
  Var phase_loss(size_t phase, const VisionData& batch, Rng& rng, StepFigures& figures) override;
  nlohmann::json evaluate(const VisionData& test, Rng& rng) override;
  Tensor sample(int64_t count, Rng& rng) override;
  io::TensorMap buffers() const override;
  void load_buffers(const io::TensorMap& buffers) override;

  // lambda E[(||grad_x D(x_hat)||_2 - 1)^2] over the rows of x_hat [N, 1, 28, 28], differentiable in the
  // critic's parameters.
  Var gradient_penalty(const Tensor& x_hat);
  GanCritic& critic() { return *critic_; }

 private:
  Var critic_loss(const Tensor& real, Rng& rng, StepFigures& figures);
  Var fakes(int64_t count, Rng& rng);  // G(z), z ~ N(0, I)

  GanConfig config_;
  std::shared_ptr<GanGenerator> generator_;
  std::shared_ptr<GanCritic> critic_;
};

}  // namespace rotor::models
