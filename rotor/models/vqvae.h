#pragma once
// VQ-VAE (van den Oord et al. 2017) on Fashion-MNIST grey values in [0, 1] (not binarized), c = channels:
//   encoder  x [N, 1, 28, 28] - conv 4x4 s2 p1 (1 -> c) - ReLU - conv 4x4 s2 p1 (c -> 2c) - ReLU
//            - conv 1x1 (2c -> D)                                          z_e [N, D, 7, 7]
//   quantizer  each of the 49 positions' D-vector -> its nearest of K codes (rotor/nn/vector_quantizer.h),
//            straight through: z_q = z_e + stopgrad(e - z_e)
//   decoder  z_q - conv 3x3 p1 (D -> 2c) - ReLU - conv-transpose 4x4 s2 p1 (2c -> c) - ReLU
//            - conv-transpose 4x4 s2 p1 (c -> 1)                          x^ [N, 1, 28, 28] (no squashing)
// loss = mean over pixels of (x^ - x)^2 + beta * mean over z_e's entries of (z_e - stopgrad(e))^2.
// The codebook is learnt by EMA inside loss() in training mode with gradient recording on (after the loss is formed, so the loss and
// its gradients use the codebook of the step's start), with restart of dead codes; it and its EMA
// statistics are buffers (saved and reloaded with the run), not parameters.
// Convolutions start with PyTorch's default initialisation (rotor's nn modules copy it), the codebook N(0, 1).
// evaluate(): test_mse (per pixel), codebook_perplexity = exp(entropy of the code usage over the test
// set's 49 N positions), codes_used (codes chosen at least once), codebook_size.
// A VQ-VAE has no prior: sample() is an error pointing at reconstruct() (`rotor vision reconstruct`).
#include "rotor/models/vision_model.h"
#include "rotor/nn/conv.h"
#include "rotor/nn/vector_quantizer.h"

namespace rotor::models {

struct VqVaeConfig {
  int64_t channels = 32, codebook_size = 128, code_dim = 16;
  double beta = 0.25, decay = 0.99, epsilon = 1e-5, dead_threshold = 1.0;
  static VqVaeConfig from_json(const nlohmann::json& j);
  // The keys above from j (those absent keep their defaults), errors naming `model`; no check for other keys.
  static VqVaeConfig read(const nlohmann::json& j, const std::string& model);
  static const std::vector<std::string>& keys();
  nlohmann::json to_json() const;
};

class VqVae : public VisionModel {
 public:
  VqVae(const VqVaeConfig& config, Rng& rng);
  std::string name() const override { return "vqvae"; }
  nlohmann::json config() const override { return config_.to_json(); }
  Var loss(const VisionData& batch, Rng& rng) override;
  nlohmann::json evaluate(const VisionData& test, Rng& rng) override;
  Tensor sample(int64_t count, Rng& rng) override;
  Tensor reconstruct(const Tensor& images) override;
  io::TensorMap buffers() const override;
  void load_buffers(const io::TensorMap& buffers) override;

  // x [N, 1, 28, 28] -> z_e [N * 49, D] (rows in (image, row, column) order); z_q [N * 49, D] -> x^.
  Var encode(const Var& images) const;
  Var decode(const Var& z_q) const;
  nn::VectorQuantizer& quantizer() { return quantizer_; }

 private:
  VqVaeConfig config_;
  std::shared_ptr<nn::Conv2d> enc1_, enc2_, enc3_, dec1_;
  std::shared_ptr<nn::ConvTranspose2d> dec2_, dec3_;
  nn::VectorQuantizer quantizer_;
};

}  // namespace rotor::models
