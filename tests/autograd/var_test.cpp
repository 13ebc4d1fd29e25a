#include "rotor/autograd/var.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/core/rng.h"
#include "rotor/core/threads.h"

namespace rotor::autograd {
namespace {

Var leaf(std::vector<double> v, Shape s) { return Var(Tensor::from_vector(v, s), true); }

TEST(Autograd, DiamondGraphAndAccumulation) {
  Var x = leaf({1.5, -2.0, 0.5}, {3});
  // y = sum(x * x + 3 x) -> dy/dx = 2x + 3, x used on two paths.
  Var y = sum(add(mul(x, x), mul(x, 3.0)));
  EXPECT_DOUBLE_EQ(y.item(), 1.5 * 1.5 + 4 + 0.25 + 3 * 0.0);
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().at({0}), 6.0);
  EXPECT_DOUBLE_EQ(x.grad().at({1}), -1.0);
  y.backward();  // gradients accumulate until zero_grad
  EXPECT_DOUBLE_EQ(x.grad().at({2}), 8.0);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, SeedGradientAndShapes) {
  Var x = leaf({1, 2, 3, 4}, {2, 2});
  Var y = mul(x, 2.0);
  EXPECT_THROW(y.backward(), Error);  // not a scalar: needs a seed
  EXPECT_THROW(y.backward(Tensor::ones({4}, DType::f64)), Error);
  y.backward(Tensor::from_vector(std::vector<double>{1, 0, 0, 2}, {2, 2}));
  EXPECT_EQ(x.grad().to_double_vector(), (std::vector<double>{2, 0, 0, 4}));
}

TEST(Autograd, NoGradAndDetach) {
  Var x = leaf({1, 2}, {2});
  {
    NoGradGuard guard;
    EXPECT_FALSE(grad_enabled());
    Var y = mul(x, x);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_THROW(sum(y).backward(), Error);
  }
  EXPECT_TRUE(grad_enabled());
  Var d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.value().shares_storage(x.value()));
  // z = x * detach(x): only the first factor is differentiated.
  Var z = sum(mul(x, d));
  z.backward();
  EXPECT_EQ(x.grad().to_double_vector(), (std::vector<double>{1, 2}));
}

TEST(Autograd, LeafGradientsDoNotAlias) {
  Var a = leaf({1, 2}, {2}), b = leaf({3, 4}, {2});
  Var y = sum(add(a, b));  // both receive the very same gradient tensor
  y.backward();
  EXPECT_FALSE(a.grad().shares_storage(b.grad()));
  y.backward();
  EXPECT_EQ(a.grad().to_double_vector(), (std::vector<double>{2, 2}));
  EXPECT_EQ(b.grad().to_double_vector(), (std::vector<double>{2, 2}));
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Var x = leaf({0.5}, {1});
  Var y = x;
  for (int i = 0; i < 20000; ++i) y = add(y, 0.0);
  sum(y).backward();
  EXPECT_DOUBLE_EQ(x.grad().at({0}), 1.0);
}

TEST(Autograd, F32GradientsAndMatmulThroughOneDnn) {
  // loss = sum((x W^T + b)^2) with f32 values: check the f32 weight gradient against the f64 one.
  Tensor x64 = Tensor::from_vector(std::vector<double>{0.1, -0.2, 0.3, 0.4, 0.5, -0.6}, {2, 3});
  Tensor w64 = Tensor::from_vector(std::vector<double>{1, 2, 3, -1, 0.5, 0.25, 2, -2, 1, 0, 0, 1}, {4, 3});
  Tensor b64 = Tensor::from_vector(std::vector<double>{0.1, 0.2, 0.3, 0.4}, {4});
  auto grad_of_w = [&](DType dt) {
    Var w(w64.to(dt), true), b(b64.to(dt), true);
    Var loss = sum(square(linear(Var(x64.to(dt)), w, b)));
    loss.backward();
    EXPECT_EQ(w.grad().dtype(), dt);
    return w.grad().to_double_vector();
  };
  const auto g32 = grad_of_w(DType::f32), g64 = grad_of_w(DType::f64);
  for (size_t i = 0; i < g64.size(); ++i) EXPECT_NEAR(g32[i], g64[i], 1e-5 * std::max(1.0, std::fabs(g64[i])));
}

TEST(Autograd, CrossEntropyForwardMatchesDefinition) {
  // Two rows of 3 classes, one ignored; label smoothing 0.1.
  const std::vector<double> z = {1.0, 2.0, 0.5, -1.0, 0.0, 3.0, 0.2, 0.2, 0.2};
  Var logits(Tensor::from_vector(z, {3, 3}), true);
  const Tensor t = Tensor::from_vector(std::vector<int64_t>{1, -100, 2}, {3});
  const double s = 0.1;
  double expected = 0;
  for (int r : {0, 2}) {
    double m = std::max({z[3 * r], z[3 * r + 1], z[3 * r + 2]}), se = 0;
    for (int c = 0; c < 3; ++c) se += std::exp(z[3 * r + c] - m);
    const int target = r == 0 ? 1 : 2;
    double row = 0;
    for (int c = 0; c < 3; ++c) {
      const double lp = z[3 * r + c] - m - std::log(se);
      row -= ((c == target ? 1 - s : 0) + s / 3) * lp;
    }
    expected += row / 2;
  }
  Var loss = cross_entropy(logits, t, {-100, s, Reduction::mean});
  EXPECT_NEAR(loss.item(), expected, 1e-12);
  EXPECT_THROW(cross_entropy(logits, Tensor::from_vector(std::vector<int64_t>{1, 3, 0}, {3})), Error);
  loss.backward();
  for (int c = 0; c < 3; ++c) EXPECT_EQ(logits.grad().at({1, c}), 0.0);  // ignored row
}

TEST(Autograd, DropoutIsSeededAndScaled) {
  Var x(Tensor::ones({1000}, DType::f32), true);
  Rng r1(5), r2(5);
  Var a = dropout(x, 0.25, r1), b = dropout(x, 0.25, r2);
  EXPECT_EQ(a.value().to_float_vector(), b.value().to_float_vector());
  int zeros = 0;
  for (float v : a.value().to_float_vector()) {
    EXPECT_TRUE(v == 0.0f || std::fabs(v - 1.0f / 0.75f) < 1e-6);
    zeros += v == 0.0f;
  }
  EXPECT_GT(zeros, 180);
  EXPECT_LT(zeros, 320);
  Rng r3(5);
  EXPECT_TRUE(dropout(x, 0.25, r3, /*training=*/false).value().shares_storage(x.value()));
}

TEST(Autograd, CheckpointGivesParameterGradients) {
  // A block with a captured parameter: checkpointed and plain runs give the same gradients.
  Var w(Tensor::from_vector(std::vector<double>{0.5, -1.0, 2.0, 0.25}, {2, 2}), true);
  Var x(Tensor::from_vector(std::vector<double>{1.0, 2.0, -0.5, 0.3, 0.7, -1.2}, {3, 2}), true);
  auto block = [&w](const std::vector<Var>& in) { return sigmoid(matmul(in[0], w)); };
  sum(square(block({x}))).backward();
  const auto gw = w.grad().to_double_vector(), gx = x.grad().to_double_vector();
  w.zero_grad();
  x.zero_grad();
  Var y = checkpoint(block, {x});
  EXPECT_EQ(y.node()->name, "checkpoint");
  sum(square(y)).backward();
  const auto cw = w.grad().to_double_vector(), cx = x.grad().to_double_vector();
  for (size_t i = 0; i < gw.size(); ++i) EXPECT_NEAR(cw[i], gw[i], 1e-14);
  for (size_t i = 0; i < gx.size(); ++i) EXPECT_NEAR(cx[i], gx[i], 1e-14);
}

// Elementwise results of transposed operands keep their permuted layout (kernels/elementwise.h); ops
// that read raw row-major buffers must see the same values and send back the same gradients as for a
// contiguous copy.
TEST(Autograd, PermutedElementwiseResultsFeedEveryKindOfOp) {
  Rng rng(12);
  std::vector<double> v(16 * 24);
  for (auto& x : v) x = rng.normal();
  const Tensor stored = Tensor::from_vector(v, {24, 16});
  auto build = [&](bool permuted, Var& leaf) {
    leaf = Var(permuted ? stored.transpose(0, 1) : stored.transpose(0, 1).contiguous(), true);  // [16, 24]
    Var y = mul(leaf, add(leaf, 0.5));  // permuted layout when the leaf is
    EXPECT_EQ(y.value().is_contiguous(), !permuted);
    Var w(Tensor::from_vector(std::vector<double>(24 * 5, 0.1), {5, 24}));
    std::vector<int64_t> t(16);
    for (int64_t i = 0; i < 16; ++i) t[i] = i % 24;
    const Tensor targets = Tensor::from_vector(t, {16});
    return add(add(sum(layer_norm(y, Var(), Var())), sum(linear(y, w, Var()))),
               add(cross_entropy(y, targets), sum(softmax(y, -1))));
  };
  Var a, b;
  Var la = build(true, a), lb = build(false, b);
  EXPECT_NEAR(la.value().item(), lb.value().item(), 1e-12);
  la.backward();
  lb.backward();
  const auto ga = a.grad().to_double_vector(), gb = b.grad().to_double_vector();
  ASSERT_EQ(ga.size(), gb.size());
  for (size_t i = 0; i < ga.size(); ++i) ASSERT_NEAR(ga[i], gb[i], 1e-12) << i;
}

TEST(Autograd, BadInputsThrowNamingTheProblem) {
  Var a(Tensor::zeros({2, 3}), true), b(Tensor::zeros({4, 5}), true);
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { matmul(a, b); }).find("matmul: shapes [2, 3] and [4, 5]"), std::string::npos);
  EXPECT_NE(message([&] { add(a, b); }).find("do not broadcast"), std::string::npos);
  EXPECT_NE(message([&] { cat({a, b}, 0); }).find("cat"), std::string::npos);
  EXPECT_NE(message([&] { embedding(b, Tensor::from_vector(std::vector<int64_t>{0, 4}, {2})); }).find("index 4"),
            std::string::npos);
  EXPECT_NE(message([&] { cross_entropy(a, Tensor::from_vector(std::vector<int64_t>{0}, {1})); }).find("targets"),
            std::string::npos);
  EXPECT_NE(message([&] { layer_norm(a, Var(Tensor::ones({4}), true), Var()); }).find("layer_norm: input has 3"),
            std::string::npos);
  EXPECT_NE(message([&] { reshape(a, {4, 2}); }).find("view"), std::string::npos);
  EXPECT_NE(message([&] { sum(a, {2}); }).find("axis 2"), std::string::npos);
  EXPECT_NE(message([&] { Var(Tensor::zeros({2}, DType::i64), true); }).find("f32 and f64"), std::string::npos);
}

TEST(Autograd, GradientsIndependentOfThreadCount) {
  // Big enough to take the parallel paths of layer_norm, softmax, reductions and elementwise kernels.
  Rng rng(11);
  Tensor xv = Tensor::empty({512, 256});
  for (int64_t i = 0; i < xv.numel(); ++i) xv.data<float>()[i] = static_cast<float>(rng.normal());
  auto grads = [&](int threads) {
    set_num_threads(threads);
    Var x(xv, true), w(Tensor::ones({256}), true), bias(Tensor::zeros({256}), true);
    Var y = sum(mul(softmax(gelu(layer_norm(x, w, bias), GeluForm::tanh), -1), x), {0});
    sum(square(y)).backward();
    std::vector<float> out = x.grad().to_float_vector();
    for (const Var* p : {&w, &bias})
      for (float v : p->grad().to_float_vector()) out.push_back(v);
    return out;
  };
  const int saved = num_threads();
  const auto one = grads(1), two = grads(2);
  set_num_threads(saved);
  EXPECT_EQ(one, two);
}

// Slices and selects add their gradients into their region of the input's pending gradient (Node::
// scatter_into): overlapping slices, a stepped slice, a select and a whole-tensor use of the same input sum
// up, in backward() and in grad(), and equal the gradient computed element by element.
TEST(Var, RegionViewGradientsAccumulate) {
  Rng rng(5);
  std::vector<double> xs(24);
  for (double& v : xs) v = rng.normal();
  const Tensor x0 = Tensor::from_vector(xs, {6, 4});
  auto loss = [](const Var& x) {
    const Var a = mul(slice(x, 0, 0, 3), 2.0);                 // rows 0-2: 2
    const Var b = mul(slice(x, 0, 2, 6), 3.0);                 // rows 2-5: 3 (row 2 overlaps)
    const Var c = mul(slice(x, 1, 0, 4, 2), 5.0);              // columns 0, 2: 5
    const Var d = mul(select(x, 1, -1), 7.0);                  // column 3: 7
    return add(add(add(sum(a), sum(b)), add(sum(c), sum(d))), sum(mul(x, x)));  // + 2 x
  };
  Var x(x0, true);
  loss(x).backward();
  const std::vector<Var> g = grad(loss(x), {x});
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t c = 0; c < 4; ++c) {
      const double want = (r < 3 ? 2 : 0) + (r >= 2 ? 3 : 0) + (c % 2 == 0 ? 5 : 0) + (c == 3 ? 7 : 0) +
                          2 * xs[static_cast<size_t>(r * 4 + c)];
      EXPECT_NEAR(x.grad().to_double_vector()[static_cast<size_t>(r * 4 + c)], want, 1e-12) << r << "," << c;
      EXPECT_NEAR(g[0].value().to_double_vector()[static_cast<size_t>(r * 4 + c)], want, 1e-12) << r << "," << c;
    }
  // A second backward adds to the leaf's gradient (the pending buffer is not the leaf's grad storage).
  const double before = x.grad().to_double_vector()[0];
  loss(x).backward();
  EXPECT_NEAR(x.grad().to_double_vector()[0], 2 * before, 1e-12);
}

// A tape hundreds of thousands of ops deep (a recurrent network over a long context) is freed without
// recursing once per op (which overflowed the stack at ctx 16k before Node's iterative destructor).
TEST(Var, DeepTapeIsFreedWithoutStackOverflow) {
  Var x(Tensor::ones({1}), true);
  {
    Var y = x;
    for (int i = 0; i < 500000; ++i) y = add(y, 1.0);
    y.backward();
    EXPECT_EQ(x.grad().item(), 1.0);
    EXPECT_EQ(y.item(), 500001.0);
  }  // y and its tape die here
  SUCCEED();
}

}  // namespace
}  // namespace rotor::autograd
