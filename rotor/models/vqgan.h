#pragma once
// VQGAN (Esser, Rombach & Ommer 2021), small, for 28x28 Fashion-MNIST grey values in [0, 1]. One
// `rotor vision train --model vqgan` run trains both stages, one after the other, as training phases
// (rotor/models/vision_model.h) with step ranges:
//
// Stage 1, steps [0, stage1_steps): the VQ autoencoder of rotor/models/vqvae.h (conv encoder to a 7x7 grid
// of D-vectors, EMA codebook of K codes with dead-code restart, conv-transpose decoder) against a patch
// discriminator
//   D: x [N, 1, 28, 28] - conv 4x4 s2 p1 (1 -> d, 14x14) - LeakyReLU 0.2 - conv 4x4 s2 p1 (d -> 2d, 7x7)
//      - LeakyReLU 0.2 - conv 3x3 p1 (2d -> 1)                         logits [N, 1, 7, 7], one per patch
//   phase "autoencoder" (every step of stage 1), x^ = decoder(quantize(encoder(x))):
//     L = L_rec + beta L_commit + f(step) disc_weight lambda L_G
//     L_rec = mean |x^ - x| (L1; no perceptual / LPIPS term),  L_commit = mean (z_e - stopgrad(e))^2,
//     L_G = -mean D(x^) (hinge generator loss),  f(step) = 1 from step disc_start on, else 0,
//     lambda = clamp(||grad_{G_L} L_rec|| / (||grad_{G_L} L_G|| + 1e-4), 0, 1e4), a constant (no gradient),
//     G_L the weight of the decoder's last layer (the adaptive weight of the paper, eq. 7).
//   phase "discriminator" (steps [disc_start, stage1_steps)), x^ without gradient:
//     L_D = mean relu(1 - D(x)) + mean relu(1 + D(x^))     (hinge)
// Stage 2, steps [stage1_steps, end of the run): phase "prior": rotor's transformer (AutogradGpt: pre-norm
// blocks, RoPE, GELU MLP) learns p(codes) autoregressively over the 49 code indices of the frozen stage-1
// encoder in raster order, after a BOS token (id K): input [BOS, c_0 .. c_47], targets [c_0 .. c_48]; loss
// the mean cross-entropy per code. Its parameters start as rotor's GPT-2 rule (rotor/models/transformer.h).
// sample(): codes drawn from the prior (temperature 1, the BOS id excluded) through the fused transformer's
// KV-cache decoder (same parameters), each code's codebook vector decoded, clamped to [0, 1].
// Step figures: rec_loss, commitment, generator_gan_loss and adaptive_weight (once the GAN term is on),
// d_real / d_fake (mean logits), and the phases' losses.
// evaluate(): the vqvae figures (test_mse per pixel, codebook_perplexity, codes_used, codebook_size), and
// test_prior_nll_nats: the prior's NLL of the test images' 49 codes in nats per image.
#include <memory>
#include <vector>

#include "rotor/models/autograd_gpt.h"
#include "rotor/models/vqvae.h"

namespace rotor::models {

struct VqGanConfig {
  VqVaeConfig autoencoder;  // channels, codebook_size, code_dim, beta, decay, epsilon, dead_threshold
  int64_t d_channels = 32;
  double disc_weight = 0.8;
  int64_t disc_start = 500;     // step at which the GAN term and the discriminator's training start
  int64_t stage1_steps = 2000;  // steps of stage 1; the rest of the run trains the prior
  double lr = 2e-4, beta1 = 0.5, beta2 = 0.9;  // Adam of the autoencoder and the discriminator
  int64_t prior_layers = 4, prior_dim = 128, prior_heads = 4;
  double prior_lr = 1e-3;  // Adam (0.9, 0.95) of the prior
  static VqGanConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  TransformerConfig prior_config() const;  // vocab K + 1 (BOS = K), ctx 49
};

class PatchDiscriminator : public nn::Module {
 public:
  PatchDiscriminator(int64_t channels, Rng& rng);
  Var forward(const Var& x) const;  // [N, 1, 28, 28] -> logits [N, 1, 7, 7]

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_, conv3_;
};

// The hinge losses: discriminator mean relu(1 - real) + mean relu(1 + fake); generator -mean(fake).
Var hinge_discriminator_loss(const Var& logits_real, const Var& logits_fake);
Var hinge_generator_loss(const Var& logits_fake);
// ||d rec / d last|| / (||d gan / d last|| + 1e-4), clamped to [0, 1e4]: the graphs of rec and gan stay.
double adaptive_gan_weight(const Var& rec, const Var& gan, const Var& last_layer);

class VqGan : public VisionModel {
 public:
  VqGan(const VqGanConfig& config, Rng& rng);
  std::string name() const override { return "vqgan"; }
  nlohmann::json config() const override { return config_.to_json(); }
  Var loss(const VisionData& batch, Rng& rng) override;  // stage 1's autoencoder loss (no GAN term)
  std::vector<TrainingPhase> training_phases() const override;
  Var phase_loss(size_t phase, const VisionData& batch, Rng& rng, StepFigures& figures) override;
  void set_progress(int64_t step, int64_t total) override { step_ = step, (void)total; }
  nlohmann::json evaluate(const VisionData& test, Rng& rng) override;
  Tensor sample(int64_t count, Rng& rng) override;
  Tensor reconstruct(const Tensor& images) override;
  io::TensorMap buffers() const override;
  void load_buffers(const io::TensorMap& buffers) override;

  // The stage-1 autoencoder loss of a batch with the GAN term on (figures as above); `update_codebook`:
  // the EMA step after the loss is formed (training).
  Var autoencoder_loss(const Tensor& images, bool gan_term, bool update_codebook, Rng& rng, StepFigures& figures);
  Var discriminator_loss(const Tensor& images, StepFigures& figures);
  Var prior_loss(const Tensor& images);
  // The code indices [N * 49] (image, row, column) of images [N, 1, 28, 28].
  std::vector<int64_t> encode_codes(const Tensor& images) const;
  // count * 49 codes in [0, K) drawn from the prior.
  std::vector<int64_t> sample_codes(int64_t count, Rng& rng) const;
  // codes [N * 49] -> images [N, 28, 28] in [0, 1].
  Tensor decode_codes(const std::vector<int64_t>& codes) const;

  VqVae& autoencoder() { return *autoencoder_; }
  PatchDiscriminator& discriminator() { return *discriminator_; }
  AutogradGpt& prior() { return *prior_; }

 private:
  VqGanConfig config_;
  std::shared_ptr<VqVae> autoencoder_;
  std::shared_ptr<PatchDiscriminator> discriminator_;
  std::shared_ptr<AutogradGpt> prior_;
  int64_t step_ = 0;
};

}  // namespace rotor::models
