// Adam/AdamW/SGD trajectories and gradient clipping against torch.optim
// (tests/optim/make_optim_reference.py), and the warmup + cosine schedule against its formula.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "rotor/optim/adam.h"
#include "rotor/optim/clip.h"
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
