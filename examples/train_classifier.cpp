// Trains a small classifier with rotor's autograd, nn modules and AdamW, from a program outside rotor.
// The task: points in the square [-1, 1]^2, labelled by the sign of x*y (XOR of the quadrants), which no
// linear model separates. Prints the loss as it trains and the accuracy on held-out points; exits 1 if the
// model did not learn the task (accuracy below 0.9).
#include <cstdio>
#include <memory>
#include <vector>

#include "rotor/autograd/ops.h"
#include "rotor/core/rng.h"
#include "rotor/nn/layers.h"
#include "rotor/optim/optimizer.h"

namespace ag = rotor::autograd;
namespace nn = rotor::nn;

class Classifier : public nn::Module {
 public:
  explicit Classifier(rotor::Rng& rng)
      : fc1_(add_module("fc1", std::make_shared<nn::Linear>(2, 32, true, rng))),
        fc2_(add_module("fc2", std::make_shared<nn::Linear>(32, 32, true, rng))),
        out_(add_module("out", std::make_shared<nn::Linear>(32, 2, true, rng))) {}
  ag::Var forward(const ag::Var& x) const {
    return out_->forward(ag::relu(fc2_->forward(ag::relu(fc1_->forward(x)))));
  }

 private:
  std::shared_ptr<nn::Linear> fc1_, fc2_, out_;
};

// n points and their labels (0: x*y < 0, 1: x*y > 0).
static void make_points(rotor::Rng& rng, int64_t n, rotor::Tensor& x, rotor::Tensor& y) {
  std::vector<float> xs(2 * n);
  std::vector<int64_t> ys(n);
  for (int64_t i = 0; i < n; ++i) {
    xs[2 * i] = 2 * rng.uniform_float() - 1;
    xs[2 * i + 1] = 2 * rng.uniform_float() - 1;
    ys[i] = xs[2 * i] * xs[2 * i + 1] > 0 ? 1 : 0;
  }
  x = rotor::Tensor::from_vector(xs, {n, 2});
  y = rotor::Tensor::from_vector(ys, {n});
}

int main() {
  rotor::Rng rng(1);
  Classifier model(rng);
  rotor::Tensor train_x, train_y, test_x, test_y;
  make_points(rng, 1024, train_x, train_y);
  make_points(rng, 1024, test_x, test_y);

  rotor::optim::Adam opt(model.parameters(), 1e-2, {.weight_decay = 1e-4});
  const ag::Var x(train_x);
  for (int step = 1; step <= 400; ++step) {
    opt.zero_grad();
    ag::Var loss = ag::cross_entropy(model.forward(x), train_y);
    loss.backward();
    opt.step();
    if (step % 100 == 0) std::printf("step %d loss %.4f\n", step, loss.item());
  }

  const std::vector<double> logits = model.forward(ag::Var(test_x)).value().to_double_vector();
  const std::vector<double> labels = test_y.to_double_vector();
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += (logits[2 * i + 1] > logits[2 * i]) == (labels[i] == 1);
  const double accuracy = static_cast<double>(correct) / static_cast<double>(labels.size());
  std::printf("test_accuracy=%.4f\n", accuracy);
  return accuracy >= 0.9 ? 0 : 1;
}
