#include "rotor/models/nade.h"

#include <algorithm>
#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/kernels/nade.h"
#include "rotor/nn/init.h"
#include "rotor/nn/nade.h"

namespace rotor::models {

using namespace rotor::autograd;

namespace {
constexpr int64_t kPixels = 784;
}

NadeConfig NadeConfig::from_json(const nlohmann::json& j) {
  check_config_keys(j, "nade", {"hidden", "orderings", "order_seed"});
  NadeConfig c;
  c.hidden = config_int(j, "nade", "hidden", c.hidden, 1, 65536);
  c.orderings = config_int(j, "nade", "orderings", c.orderings, 1, 1000);
  c.order_seed = config_int(j, "nade", "order_seed", c.order_seed, 0, INT64_MAX);
  return c;
}

nlohmann::json NadeConfig::to_json() const {
  return {{"model", "nade"}, {"hidden", hidden}, {"orderings", orderings}, {"order_seed", order_seed}};
}

Nade::Nade(const NadeConfig& config, Rng& rng) : config_(config) {
  // As torch.nn.Linear initialises its weights: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in 784 for W and
  // `hidden` for V; the biases start at zero.
  const double w = 1.0 / std::sqrt(static_cast<double>(kPixels)), v = 1.0 / std::sqrt(static_cast<double>(config.hidden));
  W_ = add_parameter("W", nn::uniform_tensor({kPixels, config.hidden}, -w, w, rng));
  c_ = add_parameter("c", Tensor::zeros({config.hidden}));
  V_ = add_parameter("V", nn::uniform_tensor({kPixels, config.hidden}, -v, v, rng));
  b_ = add_parameter("b", Tensor::zeros({kPixels}));
  Rng order_rng(static_cast<uint64_t>(config.order_seed));
  for (int64_t o = 0; o < config.orderings; ++o) {
    std::vector<int64_t> order(kPixels);
    for (int64_t d = 0; d < kPixels; ++d) order[static_cast<size_t>(d)] = d;
    if (o > 0)
      for (int64_t i = kPixels - 1; i > 0; --i)
        std::swap(order[static_cast<size_t>(i)], order[order_rng.uniform_int(static_cast<uint64_t>(i + 1))]);
    orderings_.push_back(std::move(order));
  }
}

Var Nade::forward(const Var& x, int64_t o) const {
  ROTOR_CHECK(x.dim() == 2 && x.size(1) == kPixels, "nade: wants [N, 784] inputs, got ", x.value().str());
  return nn::nade_logits(x, W_, c_, V_, b_, ordering(o));
}

Var Nade::log_likelihood(const Var& x, int64_t o) const {
  return neg(sum(binary_cross_entropy_with_logits(forward(x, o), x, Reduction::none), {1}));
}

Var Nade::loss(const VisionData& batch, Rng&) {
  ROTOR_CHECK(batch.images.numel() == batch.size() * kPixels, "nade: wants 28x28 images, got ", batch.images.str());
  const Var x(binarize(batch.images).reshape({batch.size(), kPixels}));
  const int64_t o = step_++ % config_.orderings;
  return neg(mean(log_likelihood(x, o)));
}

nlohmann::json Nade::evaluate(const VisionData& test, Rng&) {
  const double nll = ensemble_test_nll(test, config_.orderings, [this](const Var& x, int64_t s) { return log_likelihood(x, s); });
  return {{"test_nll_nats", nll}, {"orderings", config_.orderings}};
}

Tensor Nade::sample(int64_t count, Rng& rng) {
  Tensor u = Tensor::empty({count, kPixels});
  float* pu = u.data<float>();
  for (int64_t i = 0; i < count * kPixels; ++i) pu[i] = static_cast<float>(rng.uniform());
  Tensor x = Tensor::empty({count, kPixels});
  const Tensor W = W_.value().contiguous(), c = c_.value().contiguous(), V = V_.value().contiguous(),
               b = b_.value().contiguous();
  kernels::nade_sample<float>(x.data<float>(), pu, W.data<float>(), c.data<float>(), V.data<float>(), b.data<float>(),
                              ordering(0).data(), count, kPixels, config_.hidden);
  return x.reshape({count, 28, 28});
}

}  // namespace rotor::models
