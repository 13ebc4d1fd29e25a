// The large-margin softmax heads (rotor/nn/margin.h): gradient checks in the registry (the Gradcheck
// suite runs them) and logits, losses and gradients against PyTorch in f64 (tests/nn/margin_reference.json,
// written by tests/nn/make_margin_reference.py).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"
#include "rotor/nn/margin.h"
#include "tests/nn/json_reference.h"

namespace rotor::nn {
namespace {

using autograd::Var;
using autograd::VarList;
using json = nlohmann::json;

Tensor cyclic_targets(int64_t n, int64_t classes) {
  std::vector<int64_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 7 + 1) % classes;
  return Tensor::from_vector(t, {n});
}

void register_head(autograd::GradcheckRegistry& r, MarginKind kind, double s, double m, double lambda, bool easy,
                   const std::string& label) {
  const MarginOptions o{kind, s, m, easy};
  const bool bias = kind == MarginKind::softmax;
  // D = 2 spreads the angles over [0, pi]: every psi branch k is reached. ArcFace uses D = 3: its
  // d sin(theta) / d cos(theta) = -cot(theta) makes the f32 backward ill-conditioned at the small angles
  // D = 2 produces (its fallback branch is covered by the PyTorch cases' near-opposite rows).
  const int64_t d2 = kind == MarginKind::arcface ? 3 : 2;
  std::vector<std::vector<Shape>> shapes = bias ? std::vector<std::vector<Shape>>{{{6, 4}, {3, 4}, {3}}, {{5, 2}, {4, 2}, {4}}}
                                                : std::vector<std::vector<Shape>>{{{6, 4}, {3, 4}}, {{8, d2}, {5, d2}}};
  r.add({std::string("margin_") + margin_kind_name(kind), label, shapes, [o, lambda, bias](const VarList& in) {
           const Tensor y = cyclic_targets(in[0].size(0), in[1].size(0));
           return margin_logits(in[0], in[1], bias ? in[2] : Var(), y, o, lambda);
         }});
  r.add({std::string("margin_") + margin_kind_name(kind) + "_loss", label, shapes, [o, lambda, bias](const VarList& in) {
           const Tensor y = cyclic_targets(in[0].size(0), in[1].size(0));
           return autograd::cross_entropy(margin_logits(in[0], in[1], bias ? in[2] : Var(), y, o, lambda), y);
         }});
}

const bool registered = [] {
  auto& r = autograd::gradcheck_registry();
  register_head(r, MarginKind::softmax, 1, 0, 0, false, "linear with bias");
  register_head(r, MarginKind::normface, 16, 0, 0, false, "s 16");
  register_head(r, MarginKind::lsoftmax, 0, 4, 0, false, "m 4, lambda 0");
  register_head(r, MarginKind::lsoftmax, 0, 3, 5, false, "m 3, lambda 5");
  register_head(r, MarginKind::asoftmax, 0, 4, 0, false, "m 4, lambda 0");
  register_head(r, MarginKind::asoftmax, 0, 2, 2.5, false, "m 2, lambda 2.5");
  register_head(r, MarginKind::cosface, 30, 0.35, 0, false, "s 30, m 0.35");
  register_head(r, MarginKind::arcface, 30, 0.5, 0, false, "s 30, m 0.5");
  register_head(r, MarginKind::arcface, 30, 0.5, 0, true, "s 30, m 0.5, easy margin");
  r.add({"angular_psi", "m 1..4", {{{5, 3}}, {{17}}}, [](const VarList& in) {
           Var c = autograd::tanh(in[0]);  // in (-1, 1)
           return autograd::cat({angular_psi(c, 1), angular_psi(c, 2),
                                 angular_psi(c, 3), angular_psi(c, 4)}, 0);
         }});
  return true;
}();

TEST(MarginGradcheck, Registered) { EXPECT_TRUE(registered); }

const json& reference() {
  static const json j = testing_json::read_reference("tests/nn/margin_reference.json");
  return j;
}

using testing_json::tensor_of;

void expect_close(const Tensor& got, const json& want, const std::string& what) {
  testing_json::expect_close(got, want, what, 1e-6);
}

TEST(MarginHeads, MatchPyTorch) {
  const json& cases = reference().at("heads");
  ASSERT_EQ(cases.size(), 26u);
  for (const json& c : cases) {
    const MarginKind kind = parse_margin_kind(c["kind"].get<std::string>());
    SCOPED_TRACE(c["kind"].get<std::string>() + " m=" + std::to_string(c["m"].get<double>()) +
                 " lambda=" + std::to_string(c["lambda"].get<double>()));
    const MarginOptions o{kind, c["s"].get<double>(), c["m"].get<double>(), c["easy_margin"].get<bool>()};
    const Tensor y = Tensor::from_vector(c["targets"].get<std::vector<int64_t>>(),
                                         {static_cast<int64_t>(c["targets"].size())});
    for (int pass = 0; pass < 2; ++pass) {
      Var x(tensor_of(c["x"]), true), w(tensor_of(c["w"]), true), b;
      if (!c["b"].is_null()) b = Var(tensor_of(c["b"]), true);
      const Var logits = margin_logits(x, w, b, y, o, c["lambda"].get<double>());
      if (pass == 0) {
        expect_close(logits.value(), c["logits"], "logits");
        logits.backward(tensor_of(c["seed"]));
      } else {
        const Var loss = autograd::cross_entropy(logits, y);
        EXPECT_NEAR(loss.item(), c["loss"].get<double>(), 1e-6 * std::max(1.0, std::fabs(c["loss"].get<double>())));
        loss.backward();
      }
      const json& g = c[pass == 0 ? "grad_out" : "grad_loss"];
      expect_close(x.grad(), g[0], pass == 0 ? "d/dx of sum(seed * logits)" : "d loss / dx");
      expect_close(w.grad(), g[1], pass == 0 ? "d/dW of sum(seed * logits)" : "d loss / dW");
      if (b.defined()) expect_close(b.grad(), g[2], "d/db");
    }
  }
}

// psi is continuous and decreasing in theta over [0, pi], from 1 to -(2m - 1), and equals cos(m theta)
// on the first interval.
TEST(MarginHeads, PsiIsMonotone) {
  for (int m = 1; m <= 5; ++m) {
    std::vector<double> cs;
    for (int i = 0; i <= 2000; ++i) cs.push_back(std::cos(std::numbers::pi * i / 2000.0));
    const auto p = angular_psi(Var(Tensor::from_vector(cs, {2001})), m).value().to_double_vector();
    EXPECT_NEAR(p.front(), 1.0, 1e-12);
    EXPECT_NEAR(p.back(), -(2.0 * m - 1), 1e-9);
    for (size_t i = 1; i < p.size(); ++i) {
      ASSERT_LE(p[i], p[i - 1] + 1e-12) << "m " << m << " at " << i;
      ASSERT_LT(std::fabs(p[i] - p[i - 1]), 0.05) << "jump, m " << m << " at " << i;
    }
    const double theta = std::numbers::pi / (2.0 * m);  // inside the first interval
    const auto q = angular_psi(Var(Tensor::from_vector(std::vector<double>{std::cos(theta)}, {1})), m)
                       .value().to_double_vector();
    EXPECT_NEAR(q[0], std::cos(m * theta), 1e-12);
  }
}

TEST(MarginHeads, LambdaAnnealing) {
  const LambdaSchedule s;  // SphereFace: max(5, 1000 / (1 + 0.12 it))
  EXPECT_DOUBLE_EQ(s.at(0), 1000.0);
  EXPECT_NEAR(s.at(100), 1000.0 / 13.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.at(100000), 5.0);
  Rng rng(3);
  MarginHead head(4, 3, {MarginKind::asoftmax, 0, 4, false}, rng);
  Var x(Tensor::ones({2, 4}));
  const Tensor y = Tensor::from_vector(std::vector<int64_t>{0, 2}, {2});
  EXPECT_DOUBLE_EQ(head.current_lambda(), 1000.0);
  head.forward(x, y);
  head.forward(x, y);
  EXPECT_NEAR(head.current_lambda(), 1000.0 / 1.24, 1e-9);
  head.eval();
  head.forward(x, y);  // evaluation does not advance the schedule
  EXPECT_NEAR(head.current_lambda(), 1000.0 / 1.24, 1e-9);
}

TEST(MarginHeads, BadInput) {
  Var x(Tensor::ones({2, 4})), w(Tensor::ones({3, 4}));
  const MarginOptions arc{MarginKind::arcface, 30, 0.5, false};
  EXPECT_THROW(margin_logits(x, w, Var(), Tensor::from_vector(std::vector<int64_t>{0, 3}, {2}), arc), Error);
  EXPECT_THROW(margin_logits(x, w, Var(), Tensor::from_vector(std::vector<int64_t>{0}, {1}), arc), Error);
  EXPECT_THROW(margin_logits(x, Var(Tensor::ones({3, 5})), Var(), Tensor::from_vector(std::vector<int64_t>{0, 1}, {2}), arc),
               Error);
  const MarginOptions bad_m{MarginKind::asoftmax, 0, 2.5, false};
  EXPECT_THROW(margin_logits(x, w, Var(), Tensor::from_vector(std::vector<int64_t>{0, 1}, {2}), bad_m), Error);
  EXPECT_THROW(parse_margin_kind("sphereface"), Error);
}

}  // namespace
}  // namespace rotor::nn
