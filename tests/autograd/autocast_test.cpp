// linear() under AutocastGuard (bf16 products, f32 results and gradients) against an f64 reference
// computed from the bf16-rounded operands: y = bf16(x) bf16(W)^T + b, dx = bf16(g) bf16(W),
// dW = bf16(g)^T bf16(x), db = sum_rows g.
#include "rotor/autograd/autocast.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/core/rng.h"

namespace rotor::autograd {
namespace {

Tensor random(const Shape& s, Rng& rng) {
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (float& x : v) x = static_cast<float>(rng.normal());
  return Tensor::from_vector(v, s);
}

Tensor rounded64(const Tensor& t) { return t.to(DType::bf16).to(DType::f64); }

void expect_close(const Tensor& got, const Tensor& want, double tol, const char* what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), DType::f32) << what;
  const auto a = got.to_double_vector(), b = want.to_double_vector();
  double scale = 1;
  for (double x : b) scale = std::max(scale, std::abs(x));
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol * scale) << what << " element " << i;
}

TEST(Autocast, LinearMultipliesBf16CopiesInF32) {
  Rng rng(4);
  const int64_t N = 37, IN = 48, OUT = 20;  // odd sizes: both rotor's own kernels and oneDNN's paths
  Var x(random({N, IN}, rng), true), w(random({OUT, IN}, rng), true), b(random({OUT}, rng), true);
  const Tensor g = random({N, OUT}, rng);
  Var y;
  {
    AutocastGuard bf16;
    EXPECT_TRUE(autocast_bf16());
    y = linear(x, w, b);
  }
  EXPECT_FALSE(autocast_bf16());
  y.backward(g);
  const Tensor x64 = rounded64(x.value()), w64 = rounded64(w.value()), g64 = rounded64(g);
  NoGradGuard no_grad;
  const Var ref_y = add(matmul(Var(x64), transpose(Var(w64), 0, 1)), Var(b.value().to(DType::f64)));
  expect_close(y.value(), ref_y.value(), 1e-5, "y");
  expect_close(x.grad(), matmul(Var(g64), Var(w64)).value(), 1e-5, "dx");
  expect_close(w.grad(), matmul(transpose(Var(g64), 0, 1), Var(x64)).value(), 1e-5, "dW");
  expect_close(b.grad(), sum(Var(g.to(DType::f64)), {0}).value(), 1e-5, "db");
  // the products really are bf16: the f32 result differs from the unrounded f32 product
  const auto exact = linear(Var(x.value()), Var(w.value()), Var(b.value())).value().to_double_vector();
  const auto mixed = y.value().to_double_vector();
  double max_diff = 0;
  for (size_t i = 0; i < exact.size(); ++i) max_diff = std::max(max_diff, std::abs(exact[i] - mixed[i]));
  EXPECT_GT(max_diff, 1e-3);
}

}  // namespace
}  // namespace rotor::autograd

namespace rotor::autograd {
namespace {

// A checkpointed block recomputes in backward with the autocast state of its forward: its gradients
// under a guard that has ended by backward time equal those of the block without checkpointing (and are
// not the f32 ones).
TEST(Autocast, CheckpointRecomputesUnderTheForwardsState) {
  Rng rng(9);
  const Tensor x0 = random({6, 32}, rng), w0 = random({16, 32}, rng);
  auto grads = [&](bool ckpt, bool cast) {
    Var x(x0, true), w(w0, true);
    auto block = [&w](const std::vector<Var>& in) { return tanh(linear(in[0], w)); };
    Var y;
    {
      AutocastGuard state(cast);
      y = ckpt ? checkpoint(block, {x}) : block({x});
    }
    sum(y).backward();
    return std::make_pair(x.grad().to_double_vector(), w.grad().to_double_vector());
  };
  const auto plain = grads(false, true), ckpt = grads(true, true), f32 = grads(false, false);
  EXPECT_EQ(ckpt.first, plain.first);
  EXPECT_EQ(ckpt.second, plain.second);
  EXPECT_NE(f32.second, plain.second);
}

}  // namespace
}  // namespace rotor::autograd
