#include "rotor/models/gan.h"

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/nn/init.h"

namespace rotor::models {

using namespace rotor::autograd;

namespace {

constexpr int64_t kSide = 28, kQuarter = 7;

Conv2dOptions down_or_up() {  // 4x4 kernels, stride 2, padding 1: 28 <-> 14 <-> 7
  Conv2dOptions o;
  o.stride = {2, 2};
  o.padding = {1, 1};
  return o;
}

// DCGAN's initialisation: every weight N(0, 0.02), BatchNorm scales N(1, 0.02), biases 0.
void dcgan_init(nn::Module& m, Rng& rng) {
  for (auto& [name, p] : m.named_parameters()) {
    const bool is_bias = name.size() >= 4 && name.substr(name.size() - 4) == "bias";
    const bool is_norm = name.find("bn") != std::string::npos;
    Tensor& v = p.mutable_value();
    if (is_bias) v.copy_(Tensor::zeros(v.shape()));
    else v.copy_(nn::normal_tensor(v.shape(), is_norm ? 1.0 : 0.0, 0.02, rng));
  }
}

void add_buffers(io::TensorMap& out, const std::string& prefix, const nn::BatchNorm& bn) {
  out[prefix + ".running_mean"] = bn.running_mean();
  out[prefix + ".running_var"] = bn.running_var();
}

// Real images [N, 1, 28, 28] in [0, 1] -> [-1, 1].
Tensor to_signed(const VisionData& batch, const std::string& model) {
  ROTOR_CHECK(batch.images.dim() == 4 && batch.images.size(1) == 1 && batch.images.size(2) == kSide &&
                  batch.images.size(3) == kSide,
              model, ": wants [N, 1, 28, 28] images, got ", batch.images.str());
  return (Var(batch.images) * 2.0 - 1.0).value();
}

}  // namespace

GanConfig GanConfig::from_json(const nlohmann::json& j, bool wasserstein) {
  const std::string model = wasserstein ? "wgan-gp" : "dcgan";
  std::vector<std::string> keys = {"z", "g_channels", "d_channels", "lr", "beta1", "beta2"};
  if (wasserstein) keys.insert(keys.end(), {"n_critic", "gp_lambda"});
  check_config_keys(j, model, keys);
  GanConfig c;
  c.wasserstein = wasserstein;
  if (wasserstein) c.lr = 1e-4, c.beta1 = 0.0, c.beta2 = 0.9, c.n_critic = 5;
  c.z = config_int(j, model, "z", c.z, 1, 4096);
  c.g_channels = config_int(j, model, "g_channels", c.g_channels, 1, 4096);
  c.d_channels = config_int(j, model, "d_channels", c.d_channels, 1, 4096);
  c.lr = config_number(j, model, "lr", c.lr, 1e-12, 1.0);
  c.beta1 = config_number(j, model, "beta1", c.beta1, 0.0, 0.999999);
  c.beta2 = config_number(j, model, "beta2", c.beta2, 0.0, 0.999999);
  if (wasserstein) {
    c.n_critic = config_int(j, model, "n_critic", c.n_critic, 1, 1000);
    c.gp_lambda = config_number(j, model, "gp_lambda", c.gp_lambda, 0.0, 1e6);
  }
  return c;
}

nlohmann::json GanConfig::to_json() const {
  nlohmann::json j = {{"model", wasserstein ? "wgan-gp" : "dcgan"}, {"z", z}, {"g_channels", g_channels},
                      {"d_channels", d_channels}, {"lr", lr}, {"beta1", beta1}, {"beta2", beta2}};
  if (wasserstein) j["n_critic"] = n_critic, j["gp_lambda"] = gp_lambda;
  return j;
}

GanGenerator::GanGenerator(int64_t z, int64_t channels, Rng& rng) : channels_(channels) {
  const int64_t wide = 2 * channels;
  fc_ = add_module("fc", std::make_shared<nn::Linear>(z, wide * kQuarter * kQuarter, true, rng));
  bn0_ = add_module("bn0", std::make_shared<nn::BatchNorm>(wide));
  up1_ = add_module("up1", std::make_shared<nn::ConvTranspose2d>(wide, channels, std::array<int64_t, 2>{4, 4},
                                                                 down_or_up(), std::array<int64_t, 2>{0, 0}, true, rng));
  bn1_ = add_module("bn1", std::make_shared<nn::BatchNorm>(channels));
  up2_ = add_module("up2", std::make_shared<nn::ConvTranspose2d>(channels, 1, std::array<int64_t, 2>{4, 4},
                                                                 down_or_up(), std::array<int64_t, 2>{0, 0}, true, rng));
  dcgan_init(*this, rng);
}

Var GanGenerator::forward(const Var& z) {
  const Var h0 = reshape(fc_->forward(z), {z.size(0), 2 * channels_, kQuarter, kQuarter});
  const Var h1 = relu(bn1_->forward(up1_->forward(relu(bn0_->forward(h0)))));  // [N, g, 14, 14]
  return tanh(up2_->forward(h1));                                              // [N, 1, 28, 28]
}

io::TensorMap GanGenerator::buffers() const {
  io::TensorMap out;
  add_buffers(out, "bn0", *bn0_);
  add_buffers(out, "bn1", *bn1_);
  return out;
}

GanCritic::GanCritic(int64_t channels, bool batch_norm, Rng& rng) {
  conv1_ = add_module("conv1", std::make_shared<nn::Conv2d>(1, channels, std::array<int64_t, 2>{4, 4}, down_or_up(),
                                                            true, rng));
  conv2_ = add_module("conv2", std::make_shared<nn::Conv2d>(channels, 2 * channels, std::array<int64_t, 2>{4, 4},
                                                            down_or_up(), true, rng));
  if (batch_norm) bn_ = add_module("bn", std::make_shared<nn::BatchNorm>(2 * channels));
  fc_ = add_module("fc", std::make_shared<nn::Linear>(2 * channels * kQuarter * kQuarter, 1, true, rng));
  dcgan_init(*this, rng);
}

Var GanCritic::forward(const Var& x) {
  Var h = conv2_->forward(leaky_relu(conv1_->forward(x), 0.2));  // [N, 2d, 7, 7]
  if (bn_) h = bn_->forward(h);
  return fc_->forward(flatten(leaky_relu(h, 0.2), 1));
}

io::TensorMap GanCritic::buffers() const {
  io::TensorMap out;
  if (bn_) add_buffers(out, "bn", *bn_);
  return out;
}

Gan::Gan(const GanConfig& config, Rng& rng) : config_(config) {
  generator_ = add_module("generator", std::make_shared<GanGenerator>(config.z, config.g_channels, rng));
  critic_ = add_module("critic", std::make_shared<GanCritic>(config.d_channels, !config.wasserstein, rng));
}

std::vector<TrainingPhase> Gan::training_phases() const {
  optim::AdamOptions adam;
  adam.beta1 = config_.beta1;
  adam.beta2 = config_.beta2;
  return {{config_.wasserstein ? "critic" : "discriminator", critic_->parameters(), config_.lr, adam, 1},
          {"generator", generator_->parameters(), config_.lr, adam, config_.n_critic}};
}

Var Gan::fakes(int64_t count, Rng& rng) {
  return generator_->forward(Var(nn::normal_tensor({count, config_.z}, 0.0, 1.0, rng)));
}

Var Gan::gradient_penalty(const Tensor& x_hat) {
  const Var x(x_hat, true);
  const Var d = critic_->forward(x);  // [N, 1]
  const Var gx = grad(d, {x}, Tensor::ones(d.shape(), d.dtype()), /*create_graph=*/true)[0];
  const Var norm = sqrt(sum(square(flatten(gx, 1)), {1}));  // [N]
  return mean(square(norm - 1.0)) * config_.gp_lambda;
}

Var Gan::critic_loss(const Tensor& real, Rng& rng, StepFigures& figures) {
  const int64_t n = real.size(0);
  Var fake;
  {
    NoGradGuard no_grad;  // the critic's step does not reach the generator
    fake = fakes(n, rng);
  }
  const Var d_real = critic_->forward(Var(real)), d_fake = critic_->forward(fake);
  if (!config_.wasserstein) {
    const Var ones(Tensor::ones(d_real.shape())), zeros(Tensor::zeros(d_fake.shape()));
    return binary_cross_entropy_with_logits(d_real, ones) + binary_cross_entropy_with_logits(d_fake, zeros);
  }
  const Var estimate = mean(d_real) - mean(d_fake);
  // x_hat = e x + (1 - e) G(z), one e ~ U(0, 1) per image.
  const Tensor e = nn::uniform_tensor({n, 1, 1, 1}, 0.0, 1.0, rng);
  const Tensor x_hat = (Var(e) * Var(real) + (1.0 - Var(e)) * fake).value().contiguous();
  const Var penalty = gradient_penalty(x_hat);
  figures["wasserstein"] = estimate.item();
  figures["gradient_penalty"] = penalty.item();
  return penalty - estimate;
}

Var Gan::loss(const VisionData& batch, Rng& rng) {
  StepFigures unused;
  return critic_loss(to_signed(batch, name()), rng, unused);
}

Var Gan::phase_loss(size_t phase, const VisionData& batch, Rng& rng, StepFigures& figures) {
  if (phase == 0) return critic_loss(to_signed(batch, name()), rng, figures);
  ROTOR_CHECK(phase == 1, name(), ": has phases 0 (critic) and 1 (generator), not ", phase);
  const Var d_fake = critic_->forward(fakes(batch.size(), rng));
  if (config_.wasserstein) return neg(mean(d_fake));
  return binary_cross_entropy_with_logits(d_fake, Var(Tensor::ones(d_fake.shape())));  // non-saturating
}

nlohmann::json Gan::evaluate(const VisionData& test, Rng& rng) {
  NoGradGuard no_grad;
  const int64_t n = test.size(), chunk = 500;
  double real_sum = 0, fake_sum = 0;
  int64_t real_right = 0, fake_right = 0;
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t m = std::min(chunk, n - b);
    const Tensor real = to_signed(gather_batch(test, order, b, m), name());
    const auto d_real = critic_->forward(Var(real)).value().to_double_vector();
    const auto d_fake = critic_->forward(fakes(m, rng)).value().to_double_vector();
    for (double v : d_real) real_sum += v, real_right += v > 0;
    for (double v : d_fake) fake_sum += v, fake_right += v < 0;
  }
  const double count = static_cast<double>(n);
  if (config_.wasserstein) return {{"test_wasserstein_estimate", (real_sum - fake_sum) / count}};
  return {{"test_discriminator_accuracy", static_cast<double>(real_right + fake_right) / (2 * count)},
          {"test_discriminator_accuracy_real", static_cast<double>(real_right) / count},
          {"test_discriminator_accuracy_fake", static_cast<double>(fake_right) / count}};
}

Tensor Gan::sample(int64_t count, Rng& rng) {
  NoGradGuard no_grad;
  return ((fakes(count, rng) + 1.0) * 0.5).value().reshape({count, kSide, kSide});
}

io::TensorMap Gan::buffers() const {
  io::TensorMap out = with_prefix("generator", generator_->buffers());
  for (const auto& [name, t] : with_prefix("critic", critic_->buffers())) out[name] = t;
  return out;
}

void Gan::load_buffers(const io::TensorMap& buffers) { copy_buffers(name(), buffers, this->buffers()); }

}  // namespace rotor::models
