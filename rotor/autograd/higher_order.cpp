// Second-order gradient checks: every op whose backward is differentiable (record() with a
// GraphBackwardFn) is checked through the gradient-check harness on the squared norm of a gradient,
//   n(x) = sum_i || d/dx_i sum(w * square(op(x))) ||^2      (w: a fixed pattern),
// computed with grad(..., create_graph = true). The harness compares dn/dx (second derivatives of the op,
// reached by back-propagating through the recorded backward) with central finite differences of n.
#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/autograd/gradcheck.h"

namespace rotor::autograd {

namespace {

using OpFn = std::function<Var(const VarList&)>;

// A fixed seed pattern in (-1, 1), not symmetric, of the output's shape and dtype.
Tensor seed_pattern(const Var& y) {
  std::vector<double> w(static_cast<size_t>(y.numel()));
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.9 * std::sin(1.7 * static_cast<double>(i) + 0.4);
  return Tensor::from_vector(w, y.shape()).to(y.dtype());
}

}  // namespace

Var gradient_norm_squared(const OpFn& f, const VarList& inputs) {
  EnableGradGuard recording;  // the harness evaluates finite differences under NoGradGuard
  VarList xs;
  for (const Var& in : inputs) xs.push_back(in.requires_grad() ? in : Var(in.value(), true));
  const Var y = f(xs);
  const std::vector<Var> gs = grad(y, xs, seed_pattern(y), /*create_graph=*/true);
  Var total;
  for (const Var& g : gs) total = total.defined() ? add(total, sum(square(g))) : sum(square(g));
  return total;
}

void register_higher_order_gradchecks(GradcheckRegistry& r) {
  const std::string label = "second order";
  // op(x) squared, so that even ops linear in x have a gradient that depends on x.
  auto add_case = [&](const char* op, std::vector<std::vector<Shape>> shapes, OpFn f,
                      InputDomain d = InputDomain::normal) {
    OpFn g = [f](const VarList& in) { return square(f(in)); };
    r.add({op, label, std::move(shapes), [g](const VarList& in) { return gradient_norm_squared(g, in); }, d});
  };
  const std::vector<std::vector<Shape>> binary = {{{3, 4}, {3, 4}}, {{2, 3}, {3}}, {{3, 1}, {1, 4}}};
  add_case("add", binary, [](const VarList& in) { return add(in[0], in[1]); });
  add_case("sub", binary, [](const VarList& in) { return sub(in[0], in[1]); });
  add_case("mul", binary, [](const VarList& in) { return mul(in[0], in[1]); });
  add_case("div", binary, [](const VarList& in) { return div(in[0], in[1]); }, InputDomain::positive);
  add_case("pow", binary, [](const VarList& in) { return pow(in[0], in[1]); }, InputDomain::positive);
  add_case("maximum", {{{3, 4}, {3, 4}}}, [](const VarList& in) { return maximum(in[0], in[1]); }, InputDomain::distinct);
  add_case("minimum", {{{2, 3}, {3}}}, [](const VarList& in) { return minimum(in[0], in[1]); }, InputDomain::distinct);

  const std::vector<std::vector<Shape>> unary = {{{5}}, {{2, 3}}};
  auto un = [&](const char* op, Var (*f)(const Var&), InputDomain d = InputDomain::normal) {
    add_case(op, unary, [f](const VarList& in) { return f(in[0]); }, d);
  };
  add_case("add_scalar", unary, [](const VarList& in) { return in[0] + 1.5; });
  add_case("mul_scalar", unary, [](const VarList& in) { return in[0] * -2.5; });
  add_case("rsub_scalar", unary, [](const VarList& in) { return 3.0 - in[0]; });
  add_case("rdiv_scalar", unary, [](const VarList& in) { return 3.0 / in[0]; }, InputDomain::positive);
  add_case("pow_scalar", unary, [](const VarList& in) { return pow(in[0], 2.5); }, InputDomain::positive);
  un("neg", neg);
  un("exp", exp);
  un("log", log, InputDomain::positive);
  un("sqrt", sqrt, InputDomain::positive);
  un("rsqrt", rsqrt, InputDomain::positive);
  un("square", square);
  un("abs", abs, InputDomain::away_from_zero);
  un("sin", sin);
  un("cos", cos);
  un("tanh", tanh);
  un("sigmoid", sigmoid);
  un("relu", relu, InputDomain::away_from_zero);
  un("silu", silu);
  un("softplus", softplus, InputDomain::away_from_zero);
  add_case("leaky_relu", unary, [](const VarList& in) { return leaky_relu(in[0], 0.2); }, InputDomain::away_from_zero);
  add_case("clamp", {{{4, 5}}}, [](const VarList& in) { return clamp(in[0], -0.15, 0.15); }, InputDomain::distinct);
  const Tensor mask = Tensor::from_vector(std::vector<int32_t>{1, 0, 0, 1}, {4, 1});
  add_case("where", {{{4, 3}, {3}}}, [mask](const VarList& in) { return where(mask, in[0], in[1]); });
  add_case("masked_fill", {{{4, 3}}}, [mask](const VarList& in) { return masked_fill(in[0], mask, -2.5); });

  add_case("matmul", {{{3, 4}, {4, 5}}, {{2, 3, 4}, {4, 2}}, {{4}, {4, 3}}},
           [](const VarList& in) { return matmul(in[0], in[1]); });
  add_case("matmul", {{{2, 1, 3, 4}, {3, 4, 2}}}, [](const VarList& in) { return matmul(in[0], in[1]); });
  add_case("linear", {{{2, 3, 4}, {5, 4}, {5}}}, [](const VarList& in) { return linear(in[0], in[1], in[2]); });
  add_case("linear", {{{3, 4}, {5, 4}}}, [](const VarList& in) { return linear(in[0], in[1]); });

  const std::vector<std::vector<Shape>> cube = {{{3, 4, 5}}};
  add_case("sum", cube, [](const VarList& in) { return sum(tanh(in[0]), {0, 2}); });
  add_case("mean", cube, [](const VarList& in) { return mean(tanh(in[0]), {-1}, true); });
  add_case("max", cube, [](const VarList& in) { return max(in[0], {1}); }, InputDomain::distinct);
  add_case("min", cube, [](const VarList& in) { return min(in[0]); }, InputDomain::distinct);
  add_case("logsumexp", cube, [](const VarList& in) { return logsumexp(in[0], {-1}); });
  add_case("var", cube, [](const VarList& in) { return var(in[0], {0, 2}); });

  add_case("reshape", {{{2, 3, 4}}}, [](const VarList& in) { return mul(reshape(in[0], {4, -1, 2}), tanh(reshape(in[0], {4, 3, 2}))); });
  add_case("transpose", {{{3, 5}}}, [](const VarList& in) { return mul(transpose(in[0], 0, 1), sigmoid(transpose(in[0], 0, 1))); });
  add_case("permute", {{{2, 3, 4}}}, [](const VarList& in) { return tanh(permute(in[0], {2, 0, 1})); });
  add_case("expand", {{{3, 1}}}, [](const VarList& in) { return tanh(expand(in[0], {2, 3, 4})); });
  add_case("unsqueeze", {{{3, 4}}}, [](const VarList& in) { return tanh(unsqueeze(in[0], 1)); });
  add_case("squeeze", {{{3, 1, 4}}}, [](const VarList& in) { return tanh(squeeze(in[0], 1)); });
  add_case("contiguous", {{{3, 4}}}, [](const VarList& in) { return tanh(contiguous(in[0])); });
  add_case("cat", {{{2, 3}, {2, 1}}}, [](const VarList& in) { return tanh(cat(in, 1)); });
  add_case("flatten", {{{2, 3, 4}}}, [](const VarList& in) { return tanh(flatten(in[0], 1)); });
  add_case("mse_loss", {{{3, 4}, {4}}}, [](const VarList& in) { return mse_loss(tanh(in[0]), in[1]); });
  add_case("binary_cross_entropy_with_logits", {{{3, 4}, {3, 4}}},
           [](const VarList& in) { return binary_cross_entropy_with_logits(in[0], sigmoid(in[1])); },
           InputDomain::away_from_zero);

  // Convolutions (the f64 path: unfold2d and a GEMM; conv_transpose2d: a GEMM and fold2d).
  Conv2dOptions strided;
  strided.stride = {2, 1};
  strided.padding = {1, 0};
  add_case("unfold2d", {{{1, 2, 4, 3}}}, [strided](const VarList& in) { return unfold2d(in[0], {2, 2}, strided); });
  add_case("fold2d", {{{1, 8, 6}}}, [strided](const VarList& in) { return fold2d(in[0], {4, 3}, {2, 2}, strided); });
  add_case("conv2d", {{{2, 2, 4, 3}, {3, 2, 2, 2}, {3}}},
           [strided](const VarList& in) { return tanh(conv2d(in[0], in[1], in[2], strided)); });
  add_case("conv_transpose2d", {{{1, 2, 3, 2}, {2, 3, 2, 2}, {3}}},
           [strided](const VarList& in) { return conv_transpose2d(in[0], in[1], in[2], strided); });
  // The gradient penalty of a convolutional critic, x: [2, 1, 6, 6] -> conv 4x4 stride 2 (3 channels) ->
  // leaky ReLU -> linear 1: differentiated in x, the conv weight and bias and the linear weight.
  r.add({"gradient_penalty", "conv critic", {{{2, 1, 6, 6}, {3, 1, 4, 4}, {3}, {1, 27}}}, [](const VarList& in) {
           EnableGradGuard recording;
           Conv2dOptions down;
           down.stride = {2, 2};
           down.padding = {1, 1};
           const Var x = in[0].requires_grad() ? in[0] : Var(in[0].value(), true);
           const Var h = leaky_relu(conv2d(x, in[1], in[2], down), 0.2);  // [2, 3, 3, 3]
           const Var d = linear(flatten(h, 1), in[3]);                    // [2, 1]
           const Var gx = grad(d, {x}, Tensor::ones(d.shape(), d.dtype()), true)[0];
           return mean(square(sqrt(sum(square(flatten(gx, 1)), {1})) - 1.0));
         }, InputDomain::away_from_zero});
  // WGAN-GP's gradient penalty on a small critic, x: [4, 3] -> linear 5 -> leaky ReLU -> linear 1 (and
  // [3, 2] -> 4 -> 1):
  //   penalty = mean_rows((||d critic / d x_row|| - 1)^2), differentiated in x and the critic's weights.
  r.add({"gradient_penalty", "wgan-gp critic", {{{4, 3}, {5, 3}, {5}, {1, 5}}, {{3, 2}, {4, 2}, {4}, {1, 4}}}, [](const VarList& in) {
           EnableGradGuard recording;
           const Var x = in[0].requires_grad() ? in[0] : Var(in[0].value(), true);
           const Var d = linear(leaky_relu(linear(x, in[1], in[2]), 0.2), in[3]);  // [rows, 1]
           const Var gx = grad(d, {x}, Tensor::ones(d.shape(), d.dtype()), true)[0];
           return mean(square(sqrt(sum(square(gx), {1})) - 1.0));
         }, InputDomain::away_from_zero});
  // An MLP with tanh / sigmoid built from matmul and broadcasting add, the gradient norm in all inputs.
  r.add({"gradient_norm", "mlp matmul tanh sigmoid", {{{3, 4}, {4, 6}, {6}, {6, 2}}, {{2, 3}, {3, 5}, {5}, {5, 1}}}, [](const VarList& in) {
           return gradient_norm_squared(
               [](const VarList& v) { return sigmoid(matmul(tanh(add(matmul(v[0], v[1]), v[2])), v[3])); }, in);
         }});
}

}  // namespace rotor::autograd
