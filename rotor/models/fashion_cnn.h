#pragma once
// A small CNN classifier for 28x28 grey images (Fashion-MNIST), as in bench/vision_peer.py:
//   conv1 3x3 (1 -> c1, padding 1) - BatchNorm - ReLU - maxpool 2     [N, c1, 14, 14]
//   conv2 3x3 (c1 -> c2, padding 1) - BatchNorm - ReLU - maxpool 2    [N, c2, 7, 7]
//   flatten - fc1 (c2*49 -> hidden) - ReLU - fc2 (hidden -> 10)       [N, 10] logits
// PyTorch's default initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases).
#include "rotor/models/vision_model.h"
#include "rotor/nn/batch_norm.h"
#include "rotor/nn/conv.h"
#include "rotor/nn/layers.h"

namespace rotor::models {

struct FashionCnnConfig {
  int64_t channels1 = 16, channels2 = 32, hidden = 128;
  static FashionCnnConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

class FashionCnn : public VisionModel {
 public:
  FashionCnn(const FashionCnnConfig& config, Rng& rng);
  Var forward(const Var& images);  // [N, 1, 28, 28] -> [N, 10]
  // The 2nd-to-last layer's activations [N, hidden] (features for a Frechet distance).
  Var features(const Var& images);
  // The last conv block's output [N, c2, 7, 7] (a 7x7 grid of image tokens, BLIP's cross-attention keys),
  // and the features computed from it: features(x) = features_of_map(feature_map(x)).
  Var feature_map(const Var& images);
  Var features_of_map(const Var& map);

  std::string name() const override { return "cnn"; }
  nlohmann::json config() const override { return config_.to_json(); }
  Var loss(const VisionData& batch, Rng& rng) override;
  nlohmann::json evaluate(const VisionData& test, Rng& rng) override;
  bool generative() const override { return false; }
  io::TensorMap buffers() const override;
  void load_buffers(const io::TensorMap& buffers) override;
  // Predicted class per image (evaluation mode, batched).
  std::vector<int64_t> predict(const Tensor& images);

 private:
  FashionCnnConfig config_;
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm> bn1_, bn2_;
  std::shared_ptr<nn::Linear> fc1_, fc2_;
};

}  // namespace rotor::models
