#include "rotor/models/vqvae.h"

#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"

namespace rotor::models {

using namespace rotor::autograd;

namespace {
const char* const kName = "vqvae";
constexpr int64_t kGrid = 7;  // 28 / 4

nn::VectorQuantizerOptions quantizer_options(const VqVaeConfig& c) {
  return {c.codebook_size, c.code_dim, c.decay, c.epsilon, c.dead_threshold};
}

void check_images(const Tensor& images) {
  ROTOR_CHECK(images.dim() == 4 && images.size(1) == 1 && images.size(2) == 28 && images.size(3) == 28, kName,
              ": wants [N, 1, 28, 28] images, got ", images.str());
}

Conv2dOptions conv_options(int64_t stride, int64_t padding) {
  Conv2dOptions o;
  o.stride = {stride, stride};
  o.padding = {padding, padding};
  return o;
}
}  // namespace

const std::vector<std::string>& VqVaeConfig::keys() {
  static const std::vector<std::string> k = {"channels", "codebook_size", "code_dim", "beta",
                                             "decay",    "epsilon",       "dead_threshold"};
  return k;
}

VqVaeConfig VqVaeConfig::from_json(const nlohmann::json& j) {
  check_config_keys(j, kName, keys());
  return read(j, kName);
}

VqVaeConfig VqVaeConfig::read(const nlohmann::json& j, const std::string& model) {
  VqVaeConfig c;
  c.channels = config_int(j, model, "channels", c.channels, 1, 1024);
  c.codebook_size = config_int(j, model, "codebook_size", c.codebook_size, 2, 65536);
  c.code_dim = config_int(j, model, "code_dim", c.code_dim, 1, 4096);
  c.beta = config_number(j, model, "beta", c.beta, 0, 100);
  c.decay = config_number(j, model, "decay", c.decay, 0, 1);
  ROTOR_CHECK(c.decay < 1, model, ": config \"decay\" = 1 would never move the codebook; want [0, 1)");
  c.epsilon = config_number(j, model, "epsilon", c.epsilon, 0, 1);
  ROTOR_CHECK(c.epsilon > 0, model, ": config \"epsilon\" must be > 0 (Laplace smoothing of the cluster sizes)");
  c.dead_threshold = config_number(j, model, "dead_threshold", c.dead_threshold, 0, 1e9);
  return c;
}

nlohmann::json VqVaeConfig::to_json() const {
  return {{"model", kName},   {"channels", channels},     {"codebook_size", codebook_size},
          {"code_dim", code_dim}, {"beta", beta},          {"decay", decay},
          {"epsilon", epsilon}, {"dead_threshold", dead_threshold}};
}

VqVae::VqVae(const VqVaeConfig& config, Rng& rng) : config_(config), quantizer_(quantizer_options(config), rng) {
  const int64_t c = config.channels, d = config.code_dim;
  using K = std::array<int64_t, 2>;
  enc1_ = add_module("enc1", std::make_shared<nn::Conv2d>(1, c, K{4, 4}, conv_options(2, 1), true, rng));
  enc2_ = add_module("enc2", std::make_shared<nn::Conv2d>(c, 2 * c, K{4, 4}, conv_options(2, 1), true, rng));
  enc3_ = add_module("enc3", std::make_shared<nn::Conv2d>(2 * c, d, K{1, 1}, conv_options(1, 0), true, rng));
  dec1_ = add_module("dec1", std::make_shared<nn::Conv2d>(d, 2 * c, K{3, 3}, conv_options(1, 1), true, rng));
  dec2_ = add_module("dec2", std::make_shared<nn::ConvTranspose2d>(2 * c, c, K{4, 4}, conv_options(2, 1), K{0, 0},
                                                                   true, rng));
  dec3_ = add_module("dec3", std::make_shared<nn::ConvTranspose2d>(c, 1, K{4, 4}, conv_options(2, 1), K{0, 0}, true,
                                                                   rng));
}

Var VqVae::encode(const Var& images) const {
  check_images(images.value());
  const Var h = enc3_->forward(relu(enc2_->forward(relu(enc1_->forward(images)))));  // [N, D, 7, 7]
  return reshape(permute(h, {0, 2, 3, 1}), {images.size(0) * kGrid * kGrid, config_.code_dim});
}

Var VqVae::decode(const Var& z_q) const {
  const int64_t n = z_q.size(0) / (kGrid * kGrid);
  const Var grid = permute(reshape(z_q, {n, kGrid, kGrid, config_.code_dim}), {0, 3, 1, 2});
  return dec3_->forward(relu(dec2_->forward(relu(dec1_->forward(contiguous(grid))))));
}

Var VqVae::loss(const VisionData& batch, Rng& rng) {
  const Var x(batch.images);
  const Var z = encode(x);
  const nn::Quantized q = quantizer_.quantize(z);
  const Var total = add(mse_loss(decode(q.quantized), x), mul(q.commitment, config_.beta));
  if (is_training() && grad_enabled()) quantizer_.ema_update(z.value(), q.codes, rng);
  return total;
}

nlohmann::json VqVae::evaluate(const VisionData& test, Rng&) {
  NoGradGuard no_grad;
  check_images(test.images);
  const int64_t n = test.size(), chunk = 500, k = config_.codebook_size;
  double squared_error = 0;
  std::vector<int64_t> usage(static_cast<size_t>(k), 0);
  for (int64_t b = 0; b < n; b += chunk) {
    const Var x(test.images.narrow(0, b, std::min(chunk, n - b)).contiguous());
    const nn::Quantized q = quantizer_.quantize(encode(x));
    for (int64_t code : q.codes) ++usage[static_cast<size_t>(code)];
    squared_error += sum(square(sub(decode(q.quantized), x))).item();
  }
  const double positions = static_cast<double>(n * kGrid * kGrid);
  double entropy = 0;
  int64_t used = 0;
  for (int64_t u : usage) {
    if (u == 0) continue;
    const double p = static_cast<double>(u) / positions;
    entropy -= p * std::log(p);
    ++used;
  }
  return {{"test_mse", squared_error / static_cast<double>(test.images.numel())},
          {"codebook_perplexity", std::exp(entropy)},
          {"codes_used", used},
          {"codebook_size", k}};
}

Tensor VqVae::sample(int64_t, Rng&) {
  throw Error(cat(kName, ": a VQ-VAE has no prior to sample from; `rotor vision reconstruct` writes test images "
                         "above their reconstructions"));
}

Tensor VqVae::reconstruct(const Tensor& images) {
  NoGradGuard no_grad;
  const Var x(images.contiguous());
  const Tensor out = decode(quantizer_.quantize(encode(x)).quantized).value();
  return out.reshape({images.size(0), 28, 28});
}

io::TensorMap VqVae::buffers() const {
  return {{"quantizer.codebook", quantizer_.codebook()},
          {"quantizer.cluster_size", quantizer_.cluster_size()},
          {"quantizer.embed_sum", quantizer_.embed_sum()}};
}

void VqVae::load_buffers(const io::TensorMap& buffers) {
  for (const char* name : {"quantizer.codebook", "quantizer.cluster_size", "quantizer.embed_sum"})
    ROTOR_CHECK(buffers.count(name), kName, ": checkpoint has no ", name);
  quantizer_.set_state(buffers.at("quantizer.codebook"), buffers.at("quantizer.cluster_size"),
                       buffers.at("quantizer.embed_sum"));
}

}  // namespace rotor::models
