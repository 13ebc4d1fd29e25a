#include "rotor/models/fashion_cnn.h"

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"

namespace rotor::models {

using namespace rotor::autograd;

FashionCnnConfig FashionCnnConfig::from_json(const nlohmann::json& j) {
  check_config_keys(j, "cnn", {"channels1", "channels2", "hidden"});
  FashionCnnConfig c;
  c.channels1 = config_int(j, "cnn", "channels1", c.channels1, 1, 1024);
  c.channels2 = config_int(j, "cnn", "channels2", c.channels2, 1, 1024);
  c.hidden = config_int(j, "cnn", "hidden", c.hidden, 1, 65536);
  return c;
}

nlohmann::json FashionCnnConfig::to_json() const {
  return {{"model", "cnn"}, {"channels1", channels1}, {"channels2", channels2}, {"hidden", hidden}};
}

FashionCnn::FashionCnn(const FashionCnnConfig& config, Rng& rng) : config_(config) {
  Conv2dOptions same;
  same.padding = {1, 1};
  conv1_ = add_module("conv1", std::make_shared<nn::Conv2d>(1, config.channels1, std::array<int64_t, 2>{3, 3}, same,
                                                            true, rng));
  bn1_ = add_module("bn1", std::make_shared<nn::BatchNorm>(config.channels1));
  conv2_ = add_module("conv2", std::make_shared<nn::Conv2d>(config.channels1, config.channels2,
                                                            std::array<int64_t, 2>{3, 3}, same, true, rng));
  bn2_ = add_module("bn2", std::make_shared<nn::BatchNorm>(config.channels2));
  fc1_ = add_module("fc1", std::make_shared<nn::Linear>(config.channels2 * 49, config.hidden, true, rng));
  fc2_ = add_module("fc2", std::make_shared<nn::Linear>(config.hidden, 10, true, rng));
}

Var FashionCnn::features(const Var& images) { return features_of_map(feature_map(images)); }

Var FashionCnn::feature_map(const Var& images) {
  ROTOR_CHECK(images.dim() == 4 && images.size(1) == 1 && images.size(2) == 28 && images.size(3) == 28,
              "cnn: wants [N, 1, 28, 28] images, got ", images.value().str());
  Var h = max_pool2d(relu(bn1_->forward(conv1_->forward(images))), {2, 2});
  return max_pool2d(relu(bn2_->forward(conv2_->forward(h))), {2, 2});
}

Var FashionCnn::features_of_map(const Var& map) { return relu(fc1_->forward(flatten(map, 1))); }

Var FashionCnn::forward(const Var& images) { return fc2_->forward(features(images)); }

Var FashionCnn::loss(const VisionData& batch, Rng&) { return cross_entropy(forward(Var(batch.images)), batch.labels); }

std::vector<int64_t> FashionCnn::predict(const Tensor& images) {
  const bool was_training = is_training();
  eval();
  NoGradGuard no_grad;
  std::vector<int64_t> out;
  const int64_t n = images.size(0), chunk = 500;
  for (int64_t b = 0; b < n; b += chunk) {
    const Tensor logits = forward(Var(images.narrow(0, b, std::min(chunk, n - b)).contiguous())).value();
    const float* l = logits.data<float>();
    for (int64_t i = 0; i < logits.size(0); ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < 10; ++c)
        if (l[i * 10 + c] > l[i * 10 + best]) best = c;
      out.push_back(best);
    }
  }
  train(was_training);
  return out;
}

nlohmann::json FashionCnn::evaluate(const VisionData& test, Rng&) {
  const std::vector<int64_t> pred = predict(test.images);
  const int64_t* y = test.labels.data<int64_t>();
  int64_t right = 0;
  for (size_t i = 0; i < pred.size(); ++i) right += pred[i] == y[i];
  return {{"test_accuracy", static_cast<double>(right) / static_cast<double>(pred.size())}};
}

io::TensorMap FashionCnn::buffers() const {
  return {{"bn1.running_mean", bn1_->running_mean()},
          {"bn1.running_var", bn1_->running_var()},
          {"bn2.running_mean", bn2_->running_mean()},
          {"bn2.running_var", bn2_->running_var()}};
}

void FashionCnn::load_buffers(const io::TensorMap& buffers) { copy_buffers("cnn", buffers, this->buffers()); }

}  // namespace rotor::models
