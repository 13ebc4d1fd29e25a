#include "rotor/models/gumbel_vae.h"

#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"

namespace rotor::models {

using namespace rotor::autograd;

namespace {
constexpr int64_t kPixels = 784;
const char* const kName = "gumbel-vae";
}  // namespace

GumbelVaeConfig GumbelVaeConfig::from_json(const nlohmann::json& j) {
  check_config_keys(j, kName, {"hidden", "latents", "classes", "iw_samples", "tau_start", "tau_end", "hard"});
  GumbelVaeConfig c;
  c.hidden = config_int(j, kName, "hidden", c.hidden, 1, 65536);
  c.latents = config_int(j, kName, "latents", c.latents, 1, 4096);
  c.classes = config_int(j, kName, "classes", c.classes, 2, 4096);
  c.iw_samples = config_int(j, kName, "iw_samples", c.iw_samples, 1, 100000);
  c.tau_start = config_number(j, kName, "tau_start", c.tau_start, 1e-3, 100);
  c.tau_end = config_number(j, kName, "tau_end", c.tau_end, 1e-3, 100);
  if (j.contains("hard")) {
    ROTOR_CHECK(j["hard"].is_boolean(), kName, ": config \"hard\" must be true or false, got ", j["hard"].dump());
    c.hard = j["hard"].get<bool>();
  }
  return c;
}

nlohmann::json GumbelVaeConfig::to_json() const {
  return {{"model", kName},          {"hidden", hidden},   {"latents", latents}, {"classes", classes},
          {"iw_samples", iw_samples}, {"tau_start", tau_start}, {"tau_end", tau_end}, {"hard", hard}};
}

GumbelVae::GumbelVae(const GumbelVaeConfig& config, Rng& rng) : config_(config), tau_(config.tau_start) {
  const int64_t code = config.latents * config.classes;
  fc1_ = add_module("fc1", std::make_shared<nn::Linear>(kPixels, config.hidden, true, rng));
  fc2_ = add_module("fc2", std::make_shared<nn::Linear>(config.hidden, code, true, rng));
  fc3_ = add_module("fc3", std::make_shared<nn::Linear>(code, config.hidden, true, rng));
  fc4_ = add_module("fc4", std::make_shared<nn::Linear>(config.hidden, kPixels, true, rng));
}

void GumbelVae::set_progress(int64_t step, int64_t total) {
  const double t = total > 1 ? static_cast<double>(step) / static_cast<double>(total - 1) : 1.0;
  tau_ = config_.tau_start * std::pow(config_.tau_end / config_.tau_start, std::min(1.0, t));
}

Var GumbelVae::encode(const Var& x) const {
  return reshape(fc2_->forward(relu(fc1_->forward(x))), {x.size(0), config_.latents, config_.classes});
}

Var GumbelVae::decode(const Var& z) const {
  return fc4_->forward(relu(fc3_->forward(reshape(z, {z.size(0), config_.latents * config_.classes}))));
}

Var GumbelVae::negative_elbo(const Var& x, const Var& logits, const Var& z) const {
  const Var reconstruction = sum(binary_cross_entropy_with_logits(decode(z), x, Reduction::none), {1});
  const Var log_q = log_softmax(logits, -1);
  const Var kl = sum(mul(exp(log_q), add(log_q, std::log(static_cast<double>(config_.classes)))), {1, 2});
  return add(reconstruction, kl);
}

Var GumbelVae::loss(const VisionData& batch, Rng& rng) {
  const Var x(binarized_rows(batch, kName));
  const Var logits = encode(x);
  const Var z = gumbel_softmax(logits, gumbel_noise(logits.shape(), rng), tau_, config_.hard);
  return mean(negative_elbo(x, logits, z));
}

nlohmann::json GumbelVae::evaluate(const VisionData& test, Rng& rng) {
  NoGradGuard no_grad;
  const int64_t n = test.size(), k = config_.iw_samples, L = config_.latents, K = config_.classes;
  const int64_t chunk = std::max<int64_t>(1, 4096 / k);
  const double log_prior = -static_cast<double>(L) * std::log(static_cast<double>(K));
  double neg_elbo = 0, nll = 0;
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t m = std::min(chunk, n - b);
    const Var x(binarized_rows(test, kName, b, m));
    const Var logits = encode(x);
    // Gumbel-max: one_hot(argmax(logits + g)) is an exact sample of the categorical q(z|x).
    const Var z(one_hot_argmax(add(logits, Var(gumbel_noise(logits.shape(), rng))).value()));
    neg_elbo += sum(negative_elbo(x, logits, z)).item();
    // k samples per image, rows image-major [m * k, L, K].
    const Var log_q = reshape(expand(unsqueeze(log_softmax(logits, -1), 1), {m, k, L, K}), {m * k, L, K});
    const Var x_k = reshape(expand(unsqueeze(x, 1), {m, k, kPixels}), {m * k, kPixels});
    const Var z_k(one_hot_argmax(add(log_q, Var(gumbel_noise(log_q.shape(), rng))).value()));
    const Var log_px = neg(sum(binary_cross_entropy_with_logits(decode(z_k), x_k, Reduction::none), {1}));
    const Var log_qz = sum(mul(z_k, log_q), {1, 2});
    const Var log_w = reshape(sub(add(log_px, log_prior), log_qz), {m, k});
    nll -= sum(logsumexp(log_w, {1})).item() - static_cast<double>(m) * std::log(static_cast<double>(k));
  }
  return {{"test_neg_elbo_nats", neg_elbo / static_cast<double>(n)},
          {"test_nll_nats", nll / static_cast<double>(n)},
          {"iw_samples", k},
          {"final_temperature", tau_}};
}

Tensor GumbelVae::sample(int64_t count, Rng& rng) {
  NoGradGuard no_grad;
  // z from the uniform prior: one class per latent variable.
  const Tensor z = one_hot_argmax(gumbel_noise({count, config_.latents, config_.classes}, rng));
  return sigmoid(decode(Var(z))).value().reshape({count, 28, 28});
}

}  // namespace rotor::models
