// conv2d in f32 runs on oneDNN's convolution primitives (kernels/conv.h); its f64 form is unfold + GEMM,
// which the gradient-check harness checks against finite differences. Here the f32 output and the
// gradients of input, weight and bias are compared with the f64 form over several geometries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "rotor/autograd/ops.h"
#include "rotor/core/rng.h"

namespace rotor::autograd {
namespace {

struct Geometry {
  Shape x, w;
  Conv2dOptions o;
  bool bias;
};

Tensor random(const Shape& s, Rng& rng) {
  std::vector<double> v(static_cast<size_t>(shape_numel(s)));
  for (auto& x : v) x = rng.normal();
  return Tensor::from_vector(v, s);
}

void expect_close(const Tensor& got, const Tensor& want, const char* what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto g = got.to_double_vector(), w = want.to_double_vector();
  double scale = 1;
  for (double x : w) scale = std::max(scale, std::fabs(x));
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], w[i], 1e-4 * scale) << what << " element " << i;
}

// The f32 output of conv(x, w, b) and its input, weight and bias gradients against the f64 form's, for
// random x, w, b of the given shapes (b: [bias_size], or none when bias_size is 0).
void expect_f32_matches_f64(const std::function<Var(const Var&, const Var&, const Var&)>& conv, const Shape& xs,
                            const Shape& ws, int64_t bias_size, Rng& rng) {
  const bool bias = bias_size > 0;
  const Tensor x = random(xs, rng), w = random(ws, rng), b = random({std::max<int64_t>(bias_size, 1)}, rng);
  Var x64(x, true), w64(w, true), b64(b, true);
  Var x32(x.to(DType::f32), true), w32(w.to(DType::f32), true), b32(b.to(DType::f32), true);
  Var y64 = conv(x64, w64, bias ? b64 : Var());
  Var y32 = conv(x32, w32, bias ? b32 : Var());
  ASSERT_EQ(y32.dtype(), DType::f32);
  expect_close(y32.value(), y64.value(), "output");
  const Tensor seed = random(y64.shape(), rng);
  y64.backward(seed);
  y32.backward(seed.to(DType::f32));
  expect_close(x32.grad(), x64.grad(), "input gradient");
  expect_close(w32.grad(), w64.grad(), "weight gradient");
  if (bias) expect_close(b32.grad(), b64.grad(), "bias gradient");
}

TEST(Conv2d, F32OnOneDnnMatchesTheF64Form) {
  const std::vector<Geometry> cases = {
      {{2, 3, 8, 8}, {4, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}}, true},       // the common 3x3, padding 1
      {{3, 5, 9, 7}, {7, 5, 3, 2}, {{2, 1}, {1, 2}, {1, 2}}, true},       // stride, padding, dilation differ per axis
      {{1, 16, 6, 6}, {32, 16, 1, 1}, {{1, 1}, {0, 0}, {1, 1}}, false},   // 1x1, no bias
      {{2, 4, 11, 10}, {6, 4, 5, 5}, {{3, 2}, {2, 0}, {1, 1}}, true},     // stride larger than 1 on odd sizes
  };
  Rng rng(31);
  for (const Geometry& c : cases) {
    SCOPED_TRACE(shape_str(c.x) + " * " + shape_str(c.w));
    expect_f32_matches_f64([&c](const Var& x, const Var& w, const Var& b) { return conv2d(x, w, b, c.o); }, c.x, c.w,
                           c.bias ? c.w[0] : 0, rng);
  }
}

// An input that needs no gradient (a network's first layer) still gives the weight gradients.
TEST(Conv2d, F32WeightGradientWithoutInputGradient) {
  Rng rng(32);
  const Tensor x = random({2, 3, 6, 6}, rng), w = random({4, 3, 3, 3}, rng);
  Var w64(w, true), w32(w.to(DType::f32), true);
  Var y64 = conv2d(Var(x), w64, Var(), {{1, 1}, {1, 1}, {1, 1}});
  Var y32 = conv2d(Var(x.to(DType::f32)), w32, Var(), {{1, 1}, {1, 1}, {1, 1}});
  const Tensor seed = random(y64.shape(), rng);
  y64.backward(seed);
  y32.backward(seed.to(DType::f32));
  expect_close(w32.grad(), w64.grad(), "weight gradient");
}

// Frozen weights and bias (a critic's during a generator step) get no gradient, and the input gradient is
// the one of the unfrozen convolution.
TEST(Conv2d, F32InputGradientWithFrozenWeights) {
  Rng rng(33);
  const Tensor x = random({2, 3, 6, 6}, rng).to(DType::f32), w = random({4, 3, 3, 3}, rng).to(DType::f32),
               b = random({4}, rng).to(DType::f32);
  const Conv2dOptions o{{2, 2}, {1, 1}, {1, 1}};
  Var x_frozen(x, true), w_frozen(w, false), b_frozen(b, false);
  Var x_free(x, true), w_free(w, true), b_free(b, true);
  Var y_frozen = conv2d(x_frozen, w_frozen, b_frozen, o), y_free = conv2d(x_free, w_free, b_free, o);
  const Tensor seed = random(y_free.shape(), rng).to(DType::f32);
  y_frozen.backward(seed);
  y_free.backward(seed);
  EXPECT_FALSE(w_frozen.grad().defined());
  EXPECT_FALSE(b_frozen.grad().defined());
  ASSERT_TRUE(w_free.grad().defined());
  EXPECT_EQ(x_frozen.grad().to_double_vector(), x_free.grad().to_double_vector());
}

// conv_transpose2d in f32 runs on oneDNN as the adjoint convolution (backward-data forward, forward as the
// input gradient, backward-weights with the roles of input and gradient swapped); the f64 form is a GEMM and
// fold2d.
TEST(ConvTranspose2d, F32OnOneDnnMatchesTheF64Form) {
  struct Case {
    Shape x, w;
    Conv2dOptions o;
    std::array<int64_t, 2> output_padding;
    bool bias;
  };
  const std::vector<Case> cases = {
      {{2, 8, 7, 7}, {8, 4, 4, 4}, {{2, 2}, {1, 1}, {1, 1}}, {0, 0}, true},     // DCGAN's 4x4 stride-2 upsampling
      {{3, 5, 4, 3}, {5, 3, 3, 2}, {{2, 1}, {1, 0}, {1, 2}}, {1, 0}, true},     // per-axis stride/padding/dilation
      {{1, 6, 5, 5}, {6, 2, 1, 1}, {{1, 1}, {0, 0}, {1, 1}}, {0, 0}, false},    // 1x1, no bias
      {{2, 3, 4, 5}, {3, 4, 3, 3}, {{3, 2}, {0, 2}, {1, 1}}, {2, 1}, true},     // output_padding up to stride - 1
  };
  Rng rng(33);
  for (const Case& c : cases) {
    SCOPED_TRACE(shape_str(c.x) + " * " + shape_str(c.w));
    expect_f32_matches_f64(
        [&c](const Var& x, const Var& w, const Var& b) { return conv_transpose2d(x, w, b, c.o, c.output_padding); },
        c.x, c.w, c.bias ? c.w[1] : 0, rng);
  }
}

// The f32 path's backward as differentiable ops (create_graph): the gradients of
// ||d<y, s>/dx||^2 + ||d<y, s>/dw||^2 + ||y||^2 in x, w and b equal the f64 form's.
TEST(ConvTranspose2d, F32SecondOrderMatchesTheF64Form) {
  Rng rng(34);
  const Tensor x = random({2, 3, 4, 4}, rng), w = random({3, 2, 4, 4}, rng), b = random({2}, rng);
  const Conv2dOptions o{{2, 2}, {1, 1}, {1, 1}};
  const Tensor seed = random({2, 2, 8, 8}, rng);
  std::vector<std::vector<Tensor>> results;
  for (DType dt : {DType::f64, DType::f32}) {
    Var xv(x.to(dt), true), wv(w.to(dt), true), bv(b.to(dt), true);
    const Var y = conv_transpose2d(xv, wv, bv, o, {0, 0});
    const std::vector<Var> g = grad(sum(mul(y, Var(seed.to(dt)))), {xv, wv}, Tensor(), true);
    const Var penalty = add(add(sum(mul(g[0], g[0])), sum(mul(g[1], g[1]))), sum(mul(y, y)));
    const std::vector<Var> h = grad(penalty, {xv, wv, bv});
    results.push_back({h[0].value(), h[1].value(), h[2].value()});
  }
  expect_close(results[1][0], results[0][0], "d/dx");
  expect_close(results[1][1], results[0][1], "d/dw");
  expect_close(results[1][2], results[0][2], "d/db");
}

// Max pooling on ties sends the gradient to the first maximum in window order (PyTorch's choice) and
// lets a NaN through.
TEST(Pool2d, MaxTiesAndNaN) {
  for (DType dt : {DType::f32, DType::f64}) {
    // one plane [2, 4]: window 0 holds a tie (3 at (0, 0) and (1, 1)), window 1 a NaN
    Var x(Tensor::from_vector(std::vector<double>{3, 1, 2, NAN, 0, 3, 5, 4}, {1, 1, 2, 4}).to(dt), true);
    Var y = max_pool2d(x, {2, 2});
    ASSERT_EQ(y.shape(), (Shape{1, 1, 1, 2}));
    EXPECT_EQ(y.value().at({0, 0, 0, 0}), 3.0);
    EXPECT_TRUE(std::isnan(y.value().at({0, 0, 0, 1})));
    y.backward(Tensor::from_vector(std::vector<double>{1, 1}, {1, 1, 1, 2}).to(dt));
    const auto g = x.grad().to_double_vector();
    EXPECT_EQ(g, (std::vector<double>{1, 0, 0, 1, 0, 0, 0, 0}));
  }
}

// Unpadded windows (2x2 stride 2 is the kernel's own loop; the others take the general one) against a direct maximum over each window,
// values and the index the gradient goes to, on kernel and stride shapes that leave rows/columns unused.
TEST(Pool2d, MaxUnpaddedMatchesDirectMaximum) {
  Rng rng(41);
  const Tensor x = random({2, 3, 7, 9}, rng).to(DType::f32);
  const auto xs = x.to_double_vector();
  struct Case { std::array<int64_t, 2> k, s; };
  for (const Case& c : {Case{{2, 2}, {2, 2}}, Case{{2, 2}, {1, 1}}, Case{{3, 2}, {2, 3}}, Case{{3, 3}, {2, 2}}}) {
    Var xv(x, true);
    Var y = max_pool2d(xv, c.k, c.s);
    const int64_t OH = (7 - c.k[0]) / c.s[0] + 1, OW = (9 - c.k[1]) / c.s[1] + 1;
    ASSERT_EQ(y.shape(), (Shape{2, 3, OH, OW}));
    const auto ys = y.value().to_double_vector();
    std::vector<double> want_grad(xs.size(), 0.0);
    for (int64_t p = 0; p < 6; ++p)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t at = -1;
          for (int64_t i = 0; i < c.k[0]; ++i)
            for (int64_t j = 0; j < c.k[1]; ++j) {
              const int64_t idx = p * 63 + (oh * c.s[0] + i) * 9 + ow * c.s[1] + j;
              if (at < 0 || xs[idx] > xs[at]) at = idx;
            }
          EXPECT_EQ(ys[(p * OH + oh) * OW + ow], xs[at]);
          want_grad[at] += 1.0;
        }
    y.backward(Tensor::ones(y.shape(), DType::f32));
    EXPECT_EQ(xv.grad().to_double_vector(), want_grad) << "kernel " << c.k[0] << "x" << c.k[1];
  }
}

}  // namespace
}  // namespace rotor::autograd
