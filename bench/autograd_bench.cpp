// Training steps of models built from autograd + nn + optim, timed; bench/autograd_bench.sh runs the
// same models in PyTorch (bench/autograd_torch.py) and prints the ratios.
//   mlp: 784-1024-1024-10, ReLU, batch 128, cross-entropy, SGD (momentum 0.9) or AdamW.
// f32, and bf16 as autograd::AutocastGuard (PyTorch: torch.autocast("cpu", torch.bfloat16)).
//   cnn: 28x28x1 -> conv 3x3 32 (pad 1) -> ReLU -> max-pool 2 -> conv 3x3 64 (pad 1) -> ReLU -> max-pool 2
//        -> linear 3136-128 -> ReLU -> linear 10, batch 64, cross-entropy, SGD (momentum 0.9).
//   gpt: the demo's GPT (4 layers, 256 wide, 4 heads, RoPE, LayerNorm, GELU, ctx 256, batch 8) as
//        AutogradGpt (autograd + nn, not the fused trainer), AdamW; from PyTorch-style initialisation.
// Output: "name milliseconds_per_step" per line (median over the timed steps, after warm-up steps).
// With ROTOR_PROFILE=1 a per-op table of forward/backward times follows each model (on stderr).
// Usage: autograd_bench [THREADS] [STEPS] [WHICH: all | mlp | mlp_bf16 | cnn | gpt]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <memory>
#include <optional>
#include <vector>

#include "rotor/autograd/ops.h"
#include "rotor/autograd/profile.h"
#include "rotor/core/rng.h"
#include "rotor/core/threads.h"
#include "rotor/models/autograd_gpt.h"
#include "rotor/nn/conv.h"
#include "rotor/nn/layers.h"
#include "rotor/optim/optimizer.h"

using namespace rotor;
namespace ag = rotor::autograd;

namespace {

Tensor randn(const Shape& s, Rng& rng) {
  Tensor t = Tensor::empty(s);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.normal());
  return t;
}

// Median milliseconds of `steps` calls of f after 3 warm-up calls.
double median_ms(const std::function<void()>& f, int steps) {
  for (int i = 0; i < 3; ++i) f();
  ag::profile_reset();
  std::vector<double> ms;
  for (int i = 0; i < steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

class MlpModel : public nn::Module {
 public:
  explicit MlpModel(Rng& rng)
      : fc1_(add_module("fc1", std::make_shared<nn::Linear>(784, 1024, true, rng))),
        fc2_(add_module("fc2", std::make_shared<nn::Linear>(1024, 1024, true, rng))),
        fc3_(add_module("fc3", std::make_shared<nn::Linear>(1024, 10, true, rng))) {}
  // x: [B, 784] -> logits [B, 10]
  ag::Var forward(const ag::Var& x) const {
    return fc3_->forward(ag::relu(fc2_->forward(ag::relu(fc1_->forward(x)))));
  }

 private:
  std::shared_ptr<nn::Linear> fc1_, fc2_, fc3_;
};

class CnnModel : public nn::Module {
 public:
  explicit CnnModel(Rng& rng)
      : conv1_(add_module("conv1", std::make_shared<nn::Conv2d>(1, 32, std::array<int64_t, 2>{3, 3}, padded(), true, rng))),
        conv2_(add_module("conv2", std::make_shared<nn::Conv2d>(32, 64, std::array<int64_t, 2>{3, 3}, padded(), true, rng))),
        fc1_(add_module("fc1", std::make_shared<nn::Linear>(64 * 7 * 7, 128, true, rng))),
        fc2_(add_module("fc2", std::make_shared<nn::Linear>(128, 10, true, rng))) {}
  // x: [B, 1, 28, 28] -> logits [B, 10]
  ag::Var forward(const ag::Var& x) const {
    ag::Var h = ag::max_pool2d(ag::relu(conv1_->forward(x)), {2, 2});
    h = ag::max_pool2d(ag::relu(conv2_->forward(h)), {2, 2});
    return fc2_->forward(ag::relu(fc1_->forward(ag::flatten(h, 1))));
  }

 private:
  static ag::Conv2dOptions padded() {
    ag::Conv2dOptions o;
    o.padding = {1, 1};
    return o;
  }
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::Linear> fc1_, fc2_;
};

// One model's training steps (input x, 10 random classes) with SGD momentum or AdamW, optionally under
// bf16 autocast; prints "name ms".
template <class Model>
void bench_classifier(const char* name, const Shape& input, bool adam, bool bf16, int steps) {
  Rng rng(0);
  Model model(rng);
  const ag::Var x(randn(input, rng));
  std::vector<int64_t> ids(static_cast<size_t>(input[0]));
  for (auto& t : ids) t = static_cast<int64_t>(rng.uniform_int(10));
  const Tensor targets = Tensor::from_vector(ids, {input[0]});
  std::unique_ptr<optim::Optimizer> opt;
  optim::AdamOptions adamw;
  adamw.weight_decay = 0.01;
  if (adam) opt = std::make_unique<optim::Adam>(model.parameters(), 1e-3, adamw);
  else opt = std::make_unique<optim::Sgd>(model.parameters(), 0.01, optim::SgdOptions{0.9});
  const double ms = median_ms([&] {
    opt->zero_grad();
    ag::Var loss;
    {
      std::optional<ag::AutocastGuard> autocast;
      if (bf16) autocast.emplace();
      loss = ag::cross_entropy(model.forward(x), targets);
    }
    loss.backward();
    opt->step();
    if (ag::profile_enabled()) ag::profile_forward("(optimizer step, zero_grad)");
  }, steps);
  std::printf("%s %.4f\n", name, ms);
  std::fflush(stdout);
  ag::profile_report(name, steps);
}

void bench_gpt(const char* name, bool bf16, int steps) {
  models::TransformerConfig c;  // the defaults are the demo's model
  const int64_t B = 8, T = c.ctx;
  models::Transformer fused(c);
  Rng rng(0);
  fused.init_parameters(rng, models::Transformer::Init::torch);
  models::AutogradGpt model(c);
  model.load_from(fused);
  optim::AdamOptions decay;
  decay.weight_decay = 0.1;
  optim::Adam opt_decay(model.decayed_parameters(), 1e-3, decay), opt_rest(model.undecayed_parameters(), 1e-3);
  std::vector<int64_t> ids(B * (T + 1));
  for (auto& t : ids) t = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(c.vocab)));
  const Tensor all = Tensor::from_vector(ids, {B, T + 1});
  const Tensor x = all.slice(1, 0, T).contiguous(), y = all.slice(1, 1, T + 1).contiguous();
  const double ms = median_ms([&] {
    opt_decay.zero_grad();
    opt_rest.zero_grad();
    ag::Var loss;
    {
      std::optional<ag::AutocastGuard> autocast;
      if (bf16) autocast.emplace();
      loss = model.loss(x, y);
    }
    loss.backward();
    opt_decay.step();
    opt_rest.step();
    if (ag::profile_enabled()) ag::profile_forward("(optimizer step, zero_grad)");
  }, steps);
  std::printf("%s %.4f\n", name, ms);
  std::fflush(stdout);
  ag::profile_report(name, steps);
}

}  // namespace

int main(int argc, char** argv) {
  set_num_threads(argc > 1 ? std::atoi(argv[1]) : 1);
  const int steps = argc > 2 ? std::atoi(argv[2]) : 20;
  const std::string which = argc > 3 ? argv[3] : "all";
  if (which == "all" || which == "mlp") {
    bench_classifier<MlpModel>("mlp_sgd_f32", {128, 784}, false, false, steps);
    bench_classifier<MlpModel>("mlp_adam_f32", {128, 784}, true, false, steps);
  }
  if (which == "all" || which == "mlp" || which == "mlp_bf16")
    bench_classifier<MlpModel>("mlp_sgd_bf16", {128, 784}, false, true, steps);
  if (which == "all" || which == "cnn") {
    bench_classifier<CnnModel>("cnn_sgd_f32", {64, 1, 28, 28}, false, false, steps);
    bench_classifier<CnnModel>("cnn_sgd_bf16", {64, 1, 28, 28}, false, true, steps);
  }
  if (which == "all" || which == "gpt") {
    bench_gpt("gpt_f32", false, steps);
    bench_gpt("gpt_bf16", true, steps);
  }
  return 0;
}
