// llm.c's testing idea on a small scale: start from PyTorch's initial parameters, take five AdamW steps
// with rotor's autograd + nn + optim::adam_step, and compare every loss and the final parameters with
// PyTorch's (tests/nn/make_training_reference.py -> training_reference.json, float32).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rotor/autograd/ops.h"
#include "rotor/nn/layers.h"
#include "rotor/optim/adam.h"

namespace rotor::nn {
namespace {

using json = nlohmann::json;
namespace ag = rotor::autograd;

Tensor tensor_of(const json& t) {
  return Tensor::from_vector(t.at("data").get<std::vector<double>>(), t.at("shape").get<Shape>()).to(DType::f32);
}

class TinyClassifier : public Module {
 public:
  explicit TinyClassifier(Rng& rng)
      : fc1_(add_module("fc1", std::make_shared<Linear>(4, 8, true, rng))),
        norm_(add_module("norm", std::make_shared<LayerNorm>(8))),
        fc2_(add_module("fc2", std::make_shared<Linear>(8, 3, true, rng))) {}
  Var forward(const Var& x) const {
    return fc2_->forward(norm_->forward(activate(fc1_->forward(x), Activation::gelu_tanh)));
  }

 private:
  std::shared_ptr<Linear> fc1_;
  std::shared_ptr<LayerNorm> norm_;
  std::shared_ptr<Linear> fc2_;
};

TEST(Training, FiveAdamWStepsMatchPyTorch) {
  std::ifstream in(std::string(ROTOR_SOURCE_DIR) + "/tests/nn/training_reference.json");
  ASSERT_TRUE(in.good());
  const json ref = json::parse(in);
  Rng rng(0);
  TinyClassifier model(rng);
  StateDict initial;
  for (auto& [k, v] : ref.at("initial").items()) initial[k] = tensor_of(v);
  model.load_state_dict(initial);
  const Var x(tensor_of(ref.at("x")));
  const Tensor y = Tensor::from_vector(ref.at("y").get<std::vector<int64_t>>(), {16});
  optim::AdamOptions opt;
  opt.weight_decay = ref.at("weight_decay").get<double>();
  const double lr = ref.at("lr").get<double>();
  std::vector<Tensor> m, v;
  for (const Var& p : model.parameters()) {
    m.push_back(Tensor::zeros(p.shape()));
    v.push_back(Tensor::zeros(p.shape()));
  }
  const auto losses = ref.at("losses").get<std::vector<double>>();
  for (int64_t step = 1; step <= 5; ++step) {
    Var loss = ag::cross_entropy(model.forward(x), y, {-100, 0.1, ag::Reduction::mean});
    EXPECT_NEAR(loss.item(), losses[step - 1], 2e-6) << "step " << step;
    model.zero_grad();
    loss.backward();
    auto params = model.parameters();
    for (size_t i = 0; i < params.size(); ++i)
      optim::adam_step(params[i].mutable_value().data<float>(), params[i].grad().data<float>(), m[i].data<float>(),
                       v[i].data<float>(), params[i].numel(), lr, step, opt);
  }
  for (auto& [name, value] : model.state_dict()) {
    const auto got = value.to_double_vector();
    const auto want = tensor_of(ref.at("final").at(name)).to_double_vector();
    ASSERT_EQ(got.size(), want.size()) << name;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-6) << name << " element " << i;
  }
}

}  // namespace
}  // namespace rotor::nn
