#include "rotor/models/vae.h"

#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/nn/init.h"

namespace rotor::models {

using namespace rotor::autograd;

namespace {
constexpr int64_t kPixels = 784;
const double kLog2Pi = std::log(2.0 * M_PI);

Var flat_binary(const VisionData& batch) {
  ROTOR_CHECK(batch.images.numel() == batch.size() * kPixels, "vae: wants 28x28 images, got ", batch.images.str());
  return Var(binarize(batch.images).reshape({batch.size(), kPixels}));
}
}  // namespace

VaeConfig VaeConfig::from_json(const nlohmann::json& j) {
  check_config_keys(j, "vae", {"hidden", "latent", "iw_samples"});
  VaeConfig c;
  c.hidden = config_int(j, "vae", "hidden", c.hidden, 1, 65536);
  c.latent = config_int(j, "vae", "latent", c.latent, 1, 4096);
  c.iw_samples = config_int(j, "vae", "iw_samples", c.iw_samples, 1, 100000);
  return c;
}

nlohmann::json VaeConfig::to_json() const {
  return {{"model", "vae"}, {"hidden", hidden}, {"latent", latent}, {"iw_samples", iw_samples}};
}

Vae::Vae(const VaeConfig& config, Rng& rng) : config_(config) {
  fc1_ = add_module("fc1", std::make_shared<nn::Linear>(kPixels, config.hidden, true, rng));
  fc_mu_ = add_module("fc_mu", std::make_shared<nn::Linear>(config.hidden, config.latent, true, rng));
  fc_logvar_ = add_module("fc_logvar", std::make_shared<nn::Linear>(config.hidden, config.latent, true, rng));
  fc3_ = add_module("fc3", std::make_shared<nn::Linear>(config.latent, config.hidden, true, rng));
  fc4_ = add_module("fc4", std::make_shared<nn::Linear>(config.hidden, kPixels, true, rng));
}

std::pair<Var, Var> Vae::encode(const Var& x) const {
  const Var h = relu(fc1_->forward(x));
  return {fc_mu_->forward(h), fc_logvar_->forward(h)};
}

Var Vae::decode(const Var& z) const { return fc4_->forward(relu(fc3_->forward(z))); }

Var Vae::negative_elbo(const Var& x, const Tensor& eps) const {
  auto [mu, logvar] = encode(x);
  const Var z = add(mu, mul(exp(mul(logvar, 0.5)), Var(eps)));
  const Var reconstruction = sum(binary_cross_entropy_with_logits(decode(z), x, Reduction::none), {1});
  // KL(N(mu, sigma^2) || N(0, 1)) = 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2)
  const Var kl = mul(sum(sub(add(square(mu), exp(logvar)), add(logvar, 1.0)), {1}), 0.5);
  return add(reconstruction, kl);
}

Var Vae::loss(const VisionData& batch, Rng& rng) {
  const Var x = flat_binary(batch);
  return mean(negative_elbo(x, nn::normal_tensor({batch.size(), config_.latent}, 0.0, 1.0, rng)));
}

nlohmann::json Vae::evaluate(const VisionData& test, Rng& rng) {
  NoGradGuard no_grad;
  const int64_t n = test.size(), k = config_.iw_samples, latent = config_.latent;
  const int64_t chunk = std::max<int64_t>(1, 4096 / k);
  double neg_elbo = 0, nll = 0;
  const std::vector<int64_t> order = [&] {
    std::vector<int64_t> o(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) o[static_cast<size_t>(i)] = i;
    return o;
  }();
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t m = std::min(chunk, n - b);
    const Var x = flat_binary(gather_batch(test, order, b, m));
    neg_elbo += sum(negative_elbo(x, nn::normal_tensor({m, latent}, 0.0, 1.0, rng))).item();
    // k samples per image: rows [m, k] flattened image-major.
    auto [mu, logvar] = encode(x);
    const Var mu_k = reshape(expand(unsqueeze(mu, 1), {m, k, latent}), {m * k, latent});
    const Var logvar_k = reshape(expand(unsqueeze(logvar, 1), {m, k, latent}), {m * k, latent});
    const Var x_k = reshape(expand(unsqueeze(x, 1), {m, k, kPixels}), {m * k, kPixels});
    const Var eps(nn::normal_tensor({m * k, latent}, 0.0, 1.0, rng));
    const Var z = add(mu_k, mul(exp(mul(logvar_k, 0.5)), eps));
    const Var log_px = neg(sum(binary_cross_entropy_with_logits(decode(z), x_k, Reduction::none), {1}));
    const Var log_pz = mul(sum(add(square(z), kLog2Pi), {1}), -0.5);
    const Var log_qz = mul(sum(add(add(square(eps), logvar_k), kLog2Pi), {1}), -0.5);
    const Var log_w = reshape(sub(add(log_px, log_pz), log_qz), {m, k});
    nll -= sum(logsumexp(log_w, {1})).item() - static_cast<double>(m) * std::log(static_cast<double>(k));
  }
  return {{"test_neg_elbo_nats", neg_elbo / static_cast<double>(n)},
          {"test_nll_nats", nll / static_cast<double>(n)},
          {"iw_samples", k}};
}

Tensor Vae::sample(int64_t count, Rng& rng) {
  NoGradGuard no_grad;
  const Var z(nn::normal_tensor({count, config_.latent}, 0.0, 1.0, rng));
  return sigmoid(decode(z)).value().reshape({count, 28, 28});
}

}  // namespace rotor::models
