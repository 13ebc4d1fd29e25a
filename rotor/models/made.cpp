#include "rotor/models/made.h"

#include <algorithm>
#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"

namespace rotor::models {

using namespace rotor::autograd;

namespace {
constexpr int64_t kPixels = 784;

// mask [out, in] with mask[o, i] = out_degree[o] >= in_degree[i] (strict: >).
Tensor degree_mask(const std::vector<int64_t>& out_degree, const std::vector<int64_t>& in_degree, bool strict) {
  const int64_t no = static_cast<int64_t>(out_degree.size()), ni = static_cast<int64_t>(in_degree.size());
  Tensor m = Tensor::empty({no, ni});
  float* p = m.data<float>();
  for (int64_t o = 0; o < no; ++o)
    for (int64_t i = 0; i < ni; ++i) {
      const int64_t a = out_degree[static_cast<size_t>(o)], b = in_degree[static_cast<size_t>(i)];
      p[o * ni + i] = (strict ? a > b : a >= b) ? 1.0f : 0.0f;
    }
  return m;
}
}  // namespace

MadeConfig MadeConfig::from_json(const nlohmann::json& j) {
  check_config_keys(j, "made", {"hidden", "layers", "masks", "mask_seed"});
  MadeConfig c;
  c.hidden = config_int(j, "made", "hidden", c.hidden, 1, 65536);
  c.layers = config_int(j, "made", "layers", c.layers, 1, 8);
  c.masks = config_int(j, "made", "masks", c.masks, 1, 1000);
  c.mask_seed = config_int(j, "made", "mask_seed", c.mask_seed, 0, INT64_MAX);
  return c;
}

nlohmann::json MadeConfig::to_json() const {
  return {{"model", "made"}, {"hidden", hidden}, {"layers", layers}, {"masks", masks}, {"mask_seed", mask_seed}};
}

Made::Made(const MadeConfig& config, Rng& rng) : config_(config) {
  int64_t in = kPixels;
  for (int64_t l = 0; l < config.layers; ++l) {
    layers_.push_back(add_module(cat("hidden", l), std::make_shared<nn::Linear>(in, config.hidden, true, rng)));
    in = config.hidden;
  }
  layers_.push_back(add_module("out", std::make_shared<nn::Linear>(in, kPixels, true, rng)));
  Rng mask_rng(static_cast<uint64_t>(config.mask_seed));
  for (int64_t s = 0; s < config.masks; ++s) {
    std::vector<int64_t> order(kPixels);
    for (int64_t d = 0; d < kPixels; ++d) order[static_cast<size_t>(d)] = d;
    if (s > 0)
      for (int64_t i = kPixels - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[mask_rng.uniform_int(i + 1)]);
    std::vector<int64_t> input_degree(kPixels);
    for (int64_t t = 0; t < kPixels; ++t) input_degree[static_cast<size_t>(order[static_cast<size_t>(t)])] = t + 1;
    std::vector<Tensor> set_masks;
    std::vector<int64_t> previous = input_degree;
    for (int64_t l = 0; l < config.layers; ++l) {
      const int64_t lo = *std::min_element(previous.begin(), previous.end());
      std::vector<int64_t> degree(static_cast<size_t>(config.hidden));
      for (auto& d : degree) d = lo + static_cast<int64_t>(mask_rng.uniform_int(static_cast<uint64_t>(kPixels - lo)));
      set_masks.push_back(degree_mask(degree, previous, false));
      previous = degree;
    }
    set_masks.push_back(degree_mask(input_degree, previous, true));
    masks_.push_back(std::move(set_masks));
    orderings_.push_back(std::move(order));
  }
}

Var Made::forward(const Var& x, int64_t set) const {
  ROTOR_CHECK(x.dim() == 2 && x.size(1) == kPixels, "made: wants [N, 784] inputs, got ", x.value().str());
  const std::vector<Tensor>& m = masks(set);
  Var h = x;
  for (size_t l = 0; l < layers_.size(); ++l) {
    h = linear(h, mul(layers_[l]->weight(), Var(m[l])), layers_[l]->bias());
    if (l + 1 < layers_.size()) h = relu(h);
  }
  return h;
}

Var Made::log_likelihood(const Var& x, int64_t set) const {
  return neg(sum(binary_cross_entropy_with_logits(forward(x, set), x, Reduction::none), {1}));
}

Var Made::loss(const VisionData& batch, Rng&) {
  ROTOR_CHECK(batch.images.numel() == batch.size() * kPixels, "made: wants 28x28 images, got ", batch.images.str());
  const Var x(binarize(batch.images).reshape({batch.size(), kPixels}));
  const int64_t set = step_++ % config_.masks;
  return neg(mean(log_likelihood(x, set)));
}

nlohmann::json Made::evaluate(const VisionData& test, Rng&) {
  const double nll = ensemble_test_nll(test, config_.masks, [this](const Var& x, int64_t s) { return log_likelihood(x, s); });
  return {{"test_nll_nats", nll}, {"mask_sets", config_.masks}};
}

Tensor Made::sample(int64_t count, Rng& rng) {
  NoGradGuard no_grad;
  Tensor x = Tensor::zeros({count, kPixels});
  float* px = x.data<float>();
  for (int64_t d : ordering(0)) {
    const Tensor logits = forward(Var(x), 0).value();
    const float* l = logits.data<float>();
    for (int64_t i = 0; i < count; ++i) {
      const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(l[i * kPixels + d])));
      px[i * kPixels + d] = rng.uniform() < p ? 1.0f : 0.0f;
    }
  }
  return x.reshape({count, 28, 28});
}

}  // namespace rotor::models
