// Adam/AdamW/SGD trajectories and gradient clipping against torch.optim
// (tests/optim/make_optim_reference.py), and the warmup + cosine schedule against its formula.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <memory>

#include "rotor/optim/adam.h"
#include "rotor/optim/clip.h"
#include "rotor/optim/optimizer.h"
#include "rotor/optim/schedule.h"
#include "rotor/optim/sgd.h"

namespace rotor {
namespace {

nlohmann::json reference() {
  std::ifstream in(std::string(ROTOR_SOURCE_DIR) + "/tests/optim/data/optim_reference.json");
  return nlohmann::json::parse(in);
}

void expect_trajectory(const nlohmann::json& ref, const std::string& name) {
  const auto& c = ref["cases"][name];
  const auto& o = c["options"];
  std::vector<float> p = ref["initial"].get<std::vector<float>>();
  const int64_t n = int64_t(p.size());
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  for (size_t s = 0; s < c["trajectory"].size(); ++s) {
    const std::vector<float> g = ref["grads"][s].get<std::vector<float>>();
    const double lr = o["lr"].get<double>();
    if (name.rfind("adam", 0) == 0) {
      optim::AdamOptions a;
      a.beta1 = o["betas"][0].get<double>();
      a.beta2 = o["betas"][1].get<double>();
      a.eps = o["eps"].get<double>();
      a.weight_decay = o["weight_decay"].get<double>();
      a.decoupled = name == "adamw";
      optim::adam_step(p.data(), g.data(), m.data(), v.data(), n, lr, int64_t(s) + 1, a);
    } else {
      optim::SgdOptions sg;
      sg.momentum = o.value("momentum", 0.0);
      sg.dampening = o.value("dampening", 0.0);
      sg.weight_decay = o.value("weight_decay", 0.0);
      sg.nesterov = o.value("nesterov", false);
      optim::sgd_step(p.data(), g.data(), m.data(), n, lr, s == 0, sg);
    }
    const std::vector<double> expected = c["trajectory"][s].get<std::vector<double>>();
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(p[i], expected[i], 2e-6 * (1 + std::abs(expected[i]))) << name << " step " << s;
  }
}

TEST(Optimizers, MatchTorchOptim) {
  const auto ref = reference();
  for (const char* name : {"adamw", "adam_l2", "sgd_momentum", "sgd_nesterov", "sgd_plain"}) expect_trajectory(ref, name);
}

// The same torch.optim trajectories through the optimizer classes over Vars: the reference's 10 values
// split over two parameters [2, 3] and [4], plus a parameter that never gets a gradient (left untouched).
void expect_class_trajectory(const nlohmann::json& ref, const std::string& name) {
  const auto& c = ref["cases"][name];
  const auto& o = c["options"];
  const std::vector<float> p0 = ref["initial"].get<std::vector<float>>();
  auto part = [](const std::vector<float>& v, size_t from, size_t n, Shape shape) {
    return Tensor::from_vector(std::vector<float>(v.begin() + from, v.begin() + from + n), shape);
  };
  std::vector<autograd::Var> params{autograd::Var(part(p0, 0, 6, {2, 3}), true), autograd::Var(part(p0, 6, 4, {4}), true),
                                    autograd::Var(Tensor::ones({3}), true)};
  std::unique_ptr<optim::Optimizer> opt;
  const double lr = o["lr"].get<double>();
  if (name.rfind("adam", 0) == 0) {
    optim::AdamOptions a;
    a.beta1 = o["betas"][0].get<double>();
    a.beta2 = o["betas"][1].get<double>();
    a.eps = o["eps"].get<double>();
    a.weight_decay = o["weight_decay"].get<double>();
    a.decoupled = name == "adamw";
    opt = std::make_unique<optim::Adam>(params, lr, a);
  } else {
    optim::SgdOptions sg;
    sg.momentum = o.value("momentum", 0.0);
    sg.dampening = o.value("dampening", 0.0);
    sg.weight_decay = o.value("weight_decay", 0.0);
    sg.nesterov = o.value("nesterov", false);
    opt = std::make_unique<optim::Sgd>(params, lr, sg);
  }
  for (size_t s = 0; s < c["trajectory"].size(); ++s) {
    opt->zero_grad();
    const std::vector<float> g = ref["grads"][s].get<std::vector<float>>();
    params[0].set_grad(part(g, 0, 6, {2, 3}));
    params[1].set_grad(part(g, 6, 4, {4}));
    opt->step();
    const std::vector<double> expected = c["trajectory"][s].get<std::vector<double>>();
    std::vector<double> got = params[0].value().to_double_vector();
    const auto second = params[1].value().to_double_vector();
    got.insert(got.end(), second.begin(), second.end());
    for (size_t i = 0; i < expected.size(); ++i)
      ASSERT_NEAR(got[i], expected[i], 2e-6 * (1 + std::abs(expected[i]))) << name << " step " << s;
    for (double x : params[2].value().to_double_vector()) ASSERT_EQ(x, 1.0) << name << ": a parameter without gradient moved";
  }
  opt->zero_grad();
  EXPECT_FALSE(params[0].grad().defined());
}

TEST(Optimizers, ClassesOverVarsMatchTorchOptim) {
  const auto ref = reference();
  for (const char* name : {"adamw", "adam_l2", "sgd_momentum", "sgd_nesterov", "sgd_plain"})
    expect_class_trajectory(ref, name);
}

TEST(Optimizers, ClassesRejectBadParameters) {
  EXPECT_THROW(optim::Sgd({autograd::Var(Tensor::ones({2}), false)}, 0.1), Error);  // no gradient wanted
  EXPECT_THROW(optim::Adam({autograd::Var(Tensor::ones({2}, DType::f64), true)}, 0.1), Error);
  EXPECT_THROW(optim::Adam({autograd::Var(Tensor::ones({2}), true)}, -1.0), Error);
}

// Adam's state by parameter name: an optimizer restored from state() continues bit for bit like the
// original; a parameter not stepped yet has no entries; incomplete or malformed state is an error.
TEST(Optimizers, AdamStateRoundTripsByName) {
  auto make = [] {
    return std::vector<autograd::Var>{autograd::Var(Tensor::from_vector(std::vector<float>{0.5f, -1.f, 2.f}, {3}), true),
                                      autograd::Var(Tensor::from_vector(std::vector<float>{1.f, 3.f}, {2}), true),
                                      autograd::Var(Tensor::ones({2}), true)};  // never gets a gradient
  };
  const std::vector<std::string> names{"a", "b", "c"};
  auto step = [](optim::Adam& opt, std::vector<autograd::Var>& ps, int s) {
    for (int i = 0; i < 2; ++i) {
      std::vector<float> g(size_t(ps[i].numel()));
      for (size_t k = 0; k < g.size(); ++k) g[k] = std::sin(float(s * 7 + i * 3 + int(k)));
      ps[i].set_grad(Tensor::from_vector(g, ps[i].shape()));
    }
    opt.step();
  };
  std::vector<autograd::Var> p = make(), q = make();
  optim::Adam a(p, 0.01, {.weight_decay = 0.1}), b(q, 0.01, {.weight_decay = 0.1});
  for (int s = 0; s < 3; ++s) step(a, p, s);
  for (int i = 0; i < 3; ++i) q[i].mutable_value().copy_(p[i].value());
  const auto state = a.state(names);
  EXPECT_EQ(state.size(), 6u);  // "c" never stepped
  EXPECT_EQ(state.at("step.a").data<int64_t>()[0], 3);
  EXPECT_EQ(b.load_state(state, names, "test"), 6);
  for (int s = 3; s < 6; ++s) {
    step(a, p, s);
    step(b, q, s);
  }
  for (int i = 0; i < 2; ++i)
    for (int64_t k = 0; k < p[i].numel(); ++k)
      EXPECT_EQ(p[i].value().data<float>()[k], q[i].value().data<float>()[k]) << names[i] << k;
  std::vector<autograd::Var> r = make();
  optim::Adam fresh(r, 0.01, {.weight_decay = 0.1});
  auto broken = state;
  broken.erase("exp_avg_sq.b");
  EXPECT_THROW(fresh.load_state(broken, names, "test"), Error);
  broken = state;
  broken["exp_avg.a"] = Tensor::zeros({4});
  EXPECT_THROW(fresh.load_state(broken, names, "test"), Error);
  broken = state;
  broken["step.b"] = Tensor::from_vector(std::vector<int64_t>{0}, {1});
  EXPECT_THROW(fresh.load_state(broken, names, "test"), Error);
  EXPECT_THROW(fresh.state({"a", "b"}), Error);
}

TEST(Optimizers, ClipGlobalNormMatchesTorch) {
  const auto ref = reference()["clip"];
  std::vector<float> g = ref["grads"].get<std::vector<float>>();
  const double norm = optim::clip_global_norm(g.data(), int64_t(g.size()), ref["max_norm"].get<double>());
  EXPECT_NEAR(norm, ref["norm"].get<double>(), 1e-5);
  const auto clipped = ref["clipped"].get<std::vector<double>>();
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], clipped[i], 1e-6);
}

TEST(Optimizers, WarmupCosineSchedule) {
  const optim::WarmupCosine s{1.0, 0.1, 10, 110};
  EXPECT_DOUBLE_EQ(s.at(0), 0.1);      // (0 + 1) / 10
  EXPECT_DOUBLE_EQ(s.at(9), 1.0);
  EXPECT_DOUBLE_EQ(s.at(10), 1.0);     // cosine starts at the peak
  EXPECT_NEAR(s.at(60), 0.55, 1e-12);  // halfway: (max + min) / 2
  EXPECT_NEAR(s.at(110), 0.1, 1e-12);
  EXPECT_NEAR(s.at(500), 0.1, 1e-12);
}

}  // namespace
}  // namespace rotor
