// backward / grad with create_graph (second derivatives; the op-by-op checks are the "second order"
// cases of the gradcheck registry, rotor/autograd/higher_order.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "rotor/autograd/ops.h"

namespace rotor::autograd {
namespace {

Var leaf(std::vector<double> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Var(Tensor::from_vector(v, {n}), true);
}

// f(x) = sum(x^3): df/dx = 3 x^2, and d/dx sum(v * 3 x^2) = 6 x v.
TEST(HigherOrder, GradOfGradMatchesAnalyticHessian) {
  const Var x = leaf({0.5, -1.5, 2.0});
  const Var g = grad(sum(pow(x, 3.0)), {x}, Tensor(), /*create_graph=*/true)[0];
  ASSERT_TRUE(g.requires_grad());
  const std::vector<double> v{1.0, 2.0, -0.5};
  sum(mul(g, Var(Tensor::from_vector(v, {3}), false))).backward();
  const auto gv = g.value().to_double_vector(), h = x.grad().to_double_vector(), xv = x.value().to_double_vector();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(gv[i], 3 * xv[i] * xv[i], 1e-12);
    EXPECT_NEAR(h[i], 6 * xv[i] * v[i], 1e-12);
  }
}

// backward(create_graph) leaves a differentiable gradient in grad_var(); a plain backward leaves a constant.
TEST(HigherOrder, BackwardWithCreateGraphRecordsTheGradient) {
  Var x = leaf({0.3, -0.7});
  sum(mul(sin(x), x)).backward(Tensor(), /*create_graph=*/true);
  const Var g = x.grad_var();  // sin x + x cos x
  ASSERT_TRUE(g.requires_grad());
  EXPECT_FALSE(g.is_leaf());
  const auto first = x.grad().to_double_vector();
  x.zero_grad();
  sum(g).backward();  // d/dx (sin x + x cos x) = 2 cos x - x sin x
  const auto xv = x.value().to_double_vector(), h = x.grad().to_double_vector();
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(first[i], std::sin(xv[i]) + xv[i] * std::cos(xv[i]), 1e-12);
    EXPECT_NEAR(h[i], 2 * std::cos(xv[i]) - xv[i] * std::sin(xv[i]), 1e-12);
  }
  x.zero_grad();
  sum(square(x)).backward();
  EXPECT_FALSE(x.grad_var().requires_grad());
}

// Gradients reaching an intermediate value (WGAN-GP differentiates at an interpolate, not a leaf).
TEST(HigherOrder, GradAtAnIntermediateValue) {
  const Var a = leaf({1.0, 2.0});
  const Var mid = mul(a, 3.0);
  const Var out = sum(square(mid));
  const auto g = grad(out, {mid, a});
  EXPECT_FALSE(g[0].requires_grad());
  const auto gm = g[0].value().to_double_vector(), ga = g[1].value().to_double_vector();
  EXPECT_NEAR(gm[1], 2 * 6.0, 1e-12);
  EXPECT_NEAR(ga[1], 3 * 2 * 6.0, 1e-12);
  EXPECT_FALSE(a.grad().defined());  // grad() accumulates nothing
}

// An op whose backward is not written with differentiable ops fails loudly, naming itself.
TEST(HigherOrder, OpWithoutDifferentiableBackwardThrowsNamingIt) {
  const Var x = leaf({0.2, -0.4, 1.1});
  try {
    grad(sum(gelu(x)), {x}, Tensor(), true);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gelu_erf"), std::string::npos) << e.what();
  }
  const Var logits(Tensor::from_vector(std::vector<double>{0.1, 0.2, 0.3, 0.4}, {2, 2}), true);
  const Tensor targets = Tensor::from_vector(std::vector<int64_t>{0, 1}, {2});
  EXPECT_THROW(cross_entropy(logits, targets).backward(Tensor(), true), Error);
  EXPECT_FALSE(logits.grad().defined());  // checked before any gradient is accumulated
  // without create_graph the same graph differentiates once
  cross_entropy(logits, targets).backward();
  EXPECT_TRUE(logits.grad().defined());
}

}  // namespace
}  // namespace rotor::autograd
