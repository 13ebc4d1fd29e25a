#include "rotor/models/vqgan.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/models/transformer.h"

namespace rotor::models {

using namespace rotor::autograd;

namespace {

const char* const kName = "vqgan";
constexpr int64_t kCodes = 49;  // the 7x7 code grid in raster order

// [N * 49] codes -> prior inputs [N, 49] (BOS = K, then codes 0..47) and targets [N, 49] (codes 0..48).
void prior_sequences(const std::vector<int64_t>& codes, int64_t bos, Tensor& inputs, Tensor& targets) {
  const int64_t n = static_cast<int64_t>(codes.size()) / kCodes;
  std::vector<int64_t> in(codes.size());
  for (int64_t i = 0; i < n; ++i) {
    in[static_cast<size_t>(i * kCodes)] = bos;
    for (int64_t t = 1; t < kCodes; ++t) in[static_cast<size_t>(i * kCodes + t)] = codes[static_cast<size_t>(i * kCodes + t - 1)];
  }
  inputs = Tensor::from_vector(in, {n, kCodes});
  targets = Tensor::from_vector(codes, {n, kCodes});
}

}  // namespace

VqGanConfig VqGanConfig::from_json(const nlohmann::json& j) {
  std::vector<std::string> keys = VqVaeConfig::keys();
  keys.insert(keys.end(), {"d_channels", "disc_weight", "disc_start", "stage1_steps", "lr", "beta1", "beta2",
                           "prior_layers", "prior_dim", "prior_heads", "prior_lr"});
  check_config_keys(j, kName, keys);
  VqGanConfig c;
  c.autoencoder = VqVaeConfig::read(j, kName);
  c.d_channels = config_int(j, kName, "d_channels", c.d_channels, 1, 4096);
  c.disc_weight = config_number(j, kName, "disc_weight", c.disc_weight, 0, 1e6);
  c.disc_start = config_int(j, kName, "disc_start", c.disc_start, 0, int64_t{1} << 40);
  c.stage1_steps = config_int(j, kName, "stage1_steps", c.stage1_steps, 1, int64_t{1} << 40);
  ROTOR_CHECK(c.disc_start < c.stage1_steps, kName, ": config \"disc_start\" = ", c.disc_start,
              " must be below \"stage1_steps\" = ", c.stage1_steps, " (the discriminator would never train)");
  c.lr = config_number(j, kName, "lr", c.lr, 1e-12, 1.0);
  c.beta1 = config_number(j, kName, "beta1", c.beta1, 0.0, 0.999999);
  c.beta2 = config_number(j, kName, "beta2", c.beta2, 0.0, 0.999999);
  c.prior_layers = config_int(j, kName, "prior_layers", c.prior_layers, 1, 64);
  c.prior_dim = config_int(j, kName, "prior_dim", c.prior_dim, 1, 8192);
  c.prior_heads = config_int(j, kName, "prior_heads", c.prior_heads, 1, 256);
  ROTOR_CHECK(c.prior_dim % c.prior_heads == 0, kName, ": config \"prior_dim\" = ", c.prior_dim,
              " is not a multiple of \"prior_heads\" = ", c.prior_heads);
  c.prior_lr = config_number(j, kName, "prior_lr", c.prior_lr, 1e-12, 1.0);
  return c;
}

nlohmann::json VqGanConfig::to_json() const {
  nlohmann::json j = autoencoder.to_json();
  j.update({{"model", kName}, {"d_channels", d_channels}, {"disc_weight", disc_weight}, {"disc_start", disc_start},
            {"stage1_steps", stage1_steps}, {"lr", lr}, {"beta1", beta1}, {"beta2", beta2},
            {"prior_layers", prior_layers}, {"prior_dim", prior_dim}, {"prior_heads", prior_heads},
            {"prior_lr", prior_lr}});
  return j;
}

TransformerConfig VqGanConfig::prior_config() const {
  TransformerConfig t;
  t.layers = prior_layers;
  t.dim = prior_dim;
  t.heads = t.kv_heads = prior_heads;
  t.ctx = kCodes;
  t.vocab = autoencoder.codebook_size + 1;
  return t;
}

PatchDiscriminator::PatchDiscriminator(int64_t channels, Rng& rng) {
  using K = std::array<int64_t, 2>;
  const Conv2dOptions down{{2, 2}, {1, 1}}, same{{1, 1}, {1, 1}};
  conv1_ = add_module("conv1", std::make_shared<nn::Conv2d>(1, channels, K{4, 4}, down, true, rng));
  conv2_ = add_module("conv2", std::make_shared<nn::Conv2d>(channels, 2 * channels, K{4, 4}, down, true, rng));
  conv3_ = add_module("conv3", std::make_shared<nn::Conv2d>(2 * channels, 1, K{3, 3}, same, true, rng));
}

Var PatchDiscriminator::forward(const Var& x) const {
  return conv3_->forward(leaky_relu(conv2_->forward(leaky_relu(conv1_->forward(x), 0.2)), 0.2));
}

Var hinge_discriminator_loss(const Var& logits_real, const Var& logits_fake) {
  return mean(relu(1.0 - logits_real)) + mean(relu(1.0 + logits_fake));
}

Var hinge_generator_loss(const Var& logits_fake) { return neg(mean(logits_fake)); }

double adaptive_gan_weight(const Var& rec, const Var& gan, const Var& last_layer) {
  const double rec_norm = std::sqrt(sum(square(grad(rec, {last_layer})[0])).item());
  const double gan_norm = std::sqrt(sum(square(grad(gan, {last_layer})[0])).item());
  return std::clamp(rec_norm / (gan_norm + 1e-4), 0.0, 1e4);
}

VqGan::VqGan(const VqGanConfig& config, Rng& rng) : config_(config) {
  autoencoder_ = add_module("autoencoder", std::make_shared<VqVae>(config.autoencoder, rng));
  discriminator_ = add_module("discriminator", std::make_shared<PatchDiscriminator>(config.d_channels, rng));
  prior_ = add_module("prior", std::make_shared<AutogradGpt>(config.prior_config()));
  Transformer fused(config.prior_config());
  fused.init_parameters(rng);
  prior_->load_from(fused);
}

std::vector<TrainingPhase> VqGan::training_phases() const {
  optim::AdamOptions adam;
  adam.beta1 = config_.beta1;
  adam.beta2 = config_.beta2;
  optim::AdamOptions prior_adam;
  prior_adam.beta1 = 0.9;
  prior_adam.beta2 = 0.95;
  const int64_t s1 = config_.stage1_steps;
  return {{"autoencoder", autoencoder_->parameters(), config_.lr, adam, 1, 0, s1},
          {"discriminator", discriminator_->parameters(), config_.lr, adam, 1, config_.disc_start, s1},
          {"prior", prior_->parameters(), config_.prior_lr, prior_adam, 1, s1, -1}};
}

Var VqGan::autoencoder_loss(const Tensor& images, bool gan_term, bool update_codebook, Rng& rng,
                            StepFigures& figures) {
  const Var x(images);
  const Var z = autoencoder_->encode(x);
  const nn::Quantized q = autoencoder_->quantizer().quantize(z);
  const Var recon = autoencoder_->decode(q.quantized);
  const Var rec = mean(abs(recon - x));
  Var total = rec + q.commitment * config_.autoencoder.beta;
  figures["rec_loss"] = rec.item();
  figures["commitment"] = q.commitment.item();
  if (gan_term) {
    Var last_layer;
    for (const auto& [name, p] : autoencoder_->named_parameters())
      if (name == "dec3.weight") last_layer = p;
    const Var gan = hinge_generator_loss(discriminator_->forward(recon));
    const double lambda = adaptive_gan_weight(rec, gan, last_layer);
    total = total + gan * (config_.disc_weight * lambda);
    figures["generator_gan_loss"] = gan.item();
    figures["adaptive_weight"] = lambda;
  }
  if (update_codebook) autoencoder_->quantizer().ema_update(z.value(), q.codes, rng);
  return total;
}

Var VqGan::discriminator_loss(const Tensor& images, StepFigures& figures) {
  Var recon;
  {
    NoGradGuard no_grad;  // the discriminator's step does not reach the autoencoder
    const Var x(images);
    recon = autoencoder_->decode(autoencoder_->quantizer().quantize(autoencoder_->encode(x)).quantized);
  }
  const Var real = discriminator_->forward(Var(images)), fake = discriminator_->forward(recon);
  figures["d_real"] = mean(real).item();
  figures["d_fake"] = mean(fake).item();
  return hinge_discriminator_loss(real, fake);
}

std::vector<int64_t> VqGan::encode_codes(const Tensor& images) const {
  NoGradGuard no_grad;
  return autoencoder_->quantizer().nearest(autoencoder_->encode(Var(images.contiguous())).value());
}

Var VqGan::prior_loss(const Tensor& images) {
  Tensor inputs, targets;
  prior_sequences(encode_codes(images), config_.autoencoder.codebook_size, inputs, targets);
  return prior_->loss(inputs, targets);
}

Var VqGan::loss(const VisionData& batch, Rng& rng) {
  StepFigures unused;
  return autoencoder_loss(batch.images, false, is_training() && grad_enabled(), rng, unused);
}

Var VqGan::phase_loss(size_t phase, const VisionData& batch, Rng& rng, StepFigures& figures) {
  if (phase == 0)
    return autoencoder_loss(batch.images, step_ >= config_.disc_start, is_training() && grad_enabled(), rng, figures);
  if (phase == 1) return discriminator_loss(batch.images, figures);
  ROTOR_CHECK(phase == 2, kName, ": has phases 0 (autoencoder), 1 (discriminator) and 2 (prior), not ", phase);
  return prior_loss(batch.images);
}

nlohmann::json VqGan::evaluate(const VisionData& test, Rng& rng) {
  nlohmann::json out = autoencoder_->evaluate(test, rng);
  NoGradGuard no_grad;
  const int64_t n = test.size(), chunk = 500;
  double nats = 0;
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t m = std::min(chunk, n - b);
    nats += prior_loss(test.images.narrow(0, b, m).contiguous()).item() * static_cast<double>(m * kCodes);
  }
  out["test_prior_nll_nats"] = nats / static_cast<double>(n);
  return out;
}

std::vector<int64_t> VqGan::sample_codes(int64_t count, Rng& rng) const {
  ROTOR_CHECK(count >= 1, kName, ": sample count must be >= 1, got ", count);
  // The fused transformer with the prior's parameters decodes with a KV cache.
  Transformer fused(config_.prior_config());
  const nn::StateDict state = prior_->state_dict();
  for (const ParameterInfo& p : fused.parameters()) {
    const auto it = state.find(p.name);
    ROTOR_CHECK(it != state.end(), kName, ": the prior has no parameter ", p.name);
    const Tensor v = it->second.contiguous();
    ROTOR_CHECK(v.numel() == p.numel, kName, ": prior parameter ", p.name, " has ", v.numel(), " values, want ",
                p.numel);
    std::memcpy(fused.params() + p.offset, v.data<float>(), sizeof(float) * static_cast<size_t>(p.numel));
  }
  const int64_t k = config_.autoencoder.codebook_size;
  std::vector<int64_t> codes(static_cast<size_t>(count * kCodes));
  std::vector<double> probs(static_cast<size_t>(k));
  Transformer::Decoder decoder(fused);
  for (int64_t i = 0; i < count; ++i) {
    decoder.reset();
    int32_t token = static_cast<int32_t>(k);  // BOS
    for (int64_t t = 0; t < kCodes; ++t) {
      const float* logits = decoder.step(token);
      const double top = *std::max_element(logits, logits + k);  // the BOS id (logit k) is never drawn
      double total = 0;
      for (int64_t c = 0; c < k; ++c) total += probs[static_cast<size_t>(c)] = std::exp(logits[c] - top);
      double u = rng.uniform() * total;
      int64_t chosen = k - 1;
      for (int64_t c = 0; c < k; ++c) {
        u -= probs[static_cast<size_t>(c)];
        if (u < 0) {
          chosen = c;
          break;
        }
      }
      codes[static_cast<size_t>(i * kCodes + t)] = chosen;
      token = static_cast<int32_t>(chosen);
    }
  }
  return codes;
}

Tensor VqGan::decode_codes(const std::vector<int64_t>& codes) const {
  ROTOR_CHECK(!codes.empty() && codes.size() % kCodes == 0, kName, ": want a multiple of 49 codes, got ",
              codes.size());
  const int64_t n = static_cast<int64_t>(codes.size()) / kCodes, k = config_.autoencoder.codebook_size,
                d = config_.autoencoder.code_dim;
  const Tensor book = autoencoder_->quantizer().codebook().contiguous();
  const float* e = book.data<float>();
  std::vector<float> z(codes.size() * static_cast<size_t>(d));
  for (size_t i = 0; i < codes.size(); ++i) {
    ROTOR_CHECK(codes[i] >= 0 && codes[i] < k, kName, ": code ", codes[i], " is outside [0, ", k, ")");
    std::copy(e + codes[i] * d, e + (codes[i] + 1) * d, z.begin() + static_cast<std::ptrdiff_t>(i) * d);
  }
  NoGradGuard no_grad;
  const Tensor x = autoencoder_->decode(Var(Tensor::from_vector(z, {n * kCodes, d}))).value();
  return clamp(Var(x), 0.0, 1.0).value().reshape({n, 28, 28});
}

Tensor VqGan::sample(int64_t count, Rng& rng) { return decode_codes(sample_codes(count, rng)); }

Tensor VqGan::reconstruct(const Tensor& images) {
  const Tensor out = autoencoder_->reconstruct(images);
  NoGradGuard no_grad;
  return clamp(Var(out), 0.0, 1.0).value();
}

io::TensorMap VqGan::buffers() const { return with_prefix("autoencoder", autoencoder_->buffers()); }

void VqGan::load_buffers(const io::TensorMap& buffers) {
  autoencoder_->load_buffers(without_prefix(kName, "autoencoder", buffers));
}

}  // namespace rotor::models
