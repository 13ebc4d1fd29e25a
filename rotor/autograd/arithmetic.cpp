#include "rotor/autograd/arithmetic.h"

#include <algorithm>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/reduction.h"
#include "rotor/kernels/activations.h"
#include "rotor/kernels/elementwise.h"
#include "rotor/kernels/reduce.h"

namespace rotor::autograd {

namespace k = rotor::kernels;
using Grads = std::vector<Tensor>;
using Vars = std::vector<Var>;

namespace {

// dx = g * d(op)/dx as differentiable ops (for create_graph), from x.
using UnaryGraphGrad = Var (*)(const Var& g, const Var& x);

Var unary_op(const char* name, k::UnaryOp op, const Var& x, UnaryGraphGrad graph_grad = nullptr) {
  const Tensor xv = x.value();
  GraphBackwardFn graph;
  if (graph_grad) graph = [graph_grad](const Var& g, const Vars& in) { return Vars{graph_grad(g, in[0])}; };
  return record(name, k::unary(op, xv), {x}, [op, xv](const Tensor& g) { return Grads{k::unary_backward(op, xv, g)}; },
                std::move(graph));
}

// Gradient of a broadcast input: g reduced to the input's shape.
Tensor reduce_to(const Tensor& g, const Tensor& like) { return k::sum_to_shape(g, like.shape()); }
Var reduce_to(const Var& g, const Var& like) { return sum_to_shape(g, like.shape()); }

// A constant (no gradient) Var, e.g. a mask in a differentiable backward.
Var constant(const Tensor& t) { return Var(t, false); }
Var zero_like(const Var& g) { return constant(Tensor::zeros({}, g.dtype())); }

}  // namespace

// ---- binary ----------------------------------------------------------------------------------

// c = a + b: da = g, db = g (each summed over broadcast dims).
Var add(const Var& a, const Var& b) {
  const Tensor av = a.value(), bv = b.value();
  return record("add", k::add(av, bv), {a, b}, [av, bv](const Tensor& g) { return Grads{reduce_to(g, av), reduce_to(g, bv)}; },
                [](const Var& g, const Vars& in) { return Vars{reduce_to(g, in[0]), reduce_to(g, in[1])}; });
}

// c = a - b: da = g, db = -g.
Var sub(const Var& a, const Var& b) {
  const Tensor av = a.value(), bv = b.value();
  return record("sub", k::sub(av, bv), {a, b},
                [av, bv](const Tensor& g) { return Grads{reduce_to(g, av), reduce_to(k::mul_scalar(g, -1.0), bv)}; },
                [](const Var& g, const Vars& in) { return Vars{reduce_to(g, in[0]), reduce_to(neg(g), in[1])}; });
}

// c = a * b: da = g * b, db = g * a.
Var mul(const Var& a, const Var& b) {
  const Tensor av = a.value(), bv = b.value();
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("mul", k::mul(av, bv), {a, b}, [av, bv, ga, gb](const Tensor& g) {
    return Grads{ga ? reduce_to(k::mul(g, bv), av) : Tensor(), gb ? reduce_to(k::mul(g, av), bv) : Tensor()};
  }, [](const Var& g, const Vars& in) {
    return Vars{in[0].requires_grad() ? reduce_to(mul(g, in[1]), in[0]) : Var(),
                in[1].requires_grad() ? reduce_to(mul(g, in[0]), in[1]) : Var()};
  });
}

// c = a / b: da = g / b, db = -g * a / b^2 = -g * c / b.
Var div(const Var& a, const Var& b) {
  const Tensor av = a.value(), bv = b.value();
  const Tensor cv = k::div(av, bv);
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("div", cv, {a, b}, [av, bv, cv, ga, gb](const Tensor& g) {
    return Grads{ga ? reduce_to(k::div(g, bv), av) : Tensor(),
                 gb ? reduce_to(k::mul_scalar(k::div(k::mul(g, cv), bv), -1.0), bv) : Tensor()};
  }, [](const Var& g, const Vars& in) {
    return Vars{in[0].requires_grad() ? reduce_to(div(g, in[1]), in[0]) : Var(),
                in[1].requires_grad() ? reduce_to(neg(div(mul(g, in[0]), square(in[1]))), in[1]) : Var()};
  });
}

// c = a^b: da = g * b * a^(b-1), db = g * c * log(a).
Var pow(const Var& a, const Var& b) {
  const Tensor av = a.value(), bv = b.value();
  const Tensor cv = k::binary(k::BinaryOp::pow, av, bv);
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("pow", cv, {a, b}, [av, bv, cv, ga, gb](const Tensor& g) {
    Tensor da, db;
    if (ga) da = reduce_to(k::mul(g, k::mul(bv, k::binary(k::BinaryOp::pow, av, k::add_scalar(bv, -1.0)))), av);
    if (gb) db = reduce_to(k::mul(g, k::mul(cv, k::log(av))), bv);
    return Grads{da, db};
  }, [](const Var& g, const Vars& in) {
    const Var &a = in[0], &b = in[1];
    return Vars{a.requires_grad() ? reduce_to(mul(g, mul(b, pow(a, add(b, -1.0)))), a) : Var(),
                b.requires_grad() ? reduce_to(mul(g, mul(pow(a, b), log(a))), b) : Var()};
  });
}

namespace {
// maximum/minimum: the gradient goes to a where a wins (or ties), else to b.
Var extreme(const char* name, bool is_max, const Var& a, const Var& b) {
  const Tensor av = a.value(), bv = b.value();
  const Tensor a_wins = k::compare(is_max ? k::CompareOp::ge : k::CompareOp::le, av, bv);
  return record(name, is_max ? k::maximum(av, bv) : k::minimum(av, bv), {a, b}, [av, bv, a_wins](const Tensor& g) {
    const Tensor zero = Tensor::zeros({}, g.dtype());
    return Grads{reduce_to(k::where(a_wins, g, zero), av), reduce_to(k::where(a_wins, zero, g), bv)};
  }, [a_wins](const Var& g, const Vars& in) {
    return Vars{reduce_to(where(a_wins, g, zero_like(g)), in[0]), reduce_to(where(a_wins, zero_like(g), g), in[1])};
  });
}
}  // namespace

Var maximum(const Var& a, const Var& b) { return extreme("maximum", true, a, b); }
Var minimum(const Var& a, const Var& b) { return extreme("minimum", false, a, b); }

// ---- scalar forms -----------------------------------------------------------------------------

Var add(const Var& a, double s) {
  return record("add_scalar", k::add_scalar(a.value(), s), {a}, [](const Tensor& g) { return Grads{g}; },
                [](const Var& g, const Vars&) { return Vars{g}; });
}

Var mul(const Var& a, double s) {
  return record("mul_scalar", k::mul_scalar(a.value(), s), {a}, [s](const Tensor& g) { return Grads{k::mul_scalar(g, s)}; },
                [s](const Var& g, const Vars&) { return Vars{mul(g, s)}; });
}

// y = x^p: dx = g * p * x^(p-1).
Var pow(const Var& a, double p) {
  const Tensor av = a.value();
  return record("pow_scalar", k::pow_scalar(av, p), {a},
                [av, p](const Tensor& g) { return Grads{k::mul(g, k::mul_scalar(k::pow_scalar(av, p - 1), p))}; },
                [p](const Var& g, const Vars& in) { return Vars{mul(g, mul(pow(in[0], p - 1), p))}; });
}

Var rsub(double s, const Var& a) {
  return record("rsub_scalar", k::affine(a.value(), -1.0, s), {a}, [](const Tensor& g) { return Grads{k::mul_scalar(g, -1.0)}; },
                [](const Var& g, const Vars&) { return Vars{neg(g)}; });
}

// y = s / x: dx = -g * y / x.
Var rdiv(double s, const Var& a) {
  const Tensor av = a.value();
  const Tensor yv = k::mul_scalar(k::unary(k::UnaryOp::reciprocal, av), s);
  return record("rdiv_scalar", yv, {a},
                [av, yv](const Tensor& g) { return Grads{k::mul_scalar(k::div(k::mul(g, yv), av), -1.0)}; },
                [s](const Var& g, const Vars& in) { return Vars{mul(div(g, square(in[0])), -s)}; });
}

// ---- unary ------------------------------------------------------------------------------------

Var neg(const Var& x) {
  return unary_op("neg", k::UnaryOp::neg, x, [](const Var& g, const Var&) { return neg(g); });
}
Var exp(const Var& x) {
  return unary_op("exp", k::UnaryOp::exp, x, [](const Var& g, const Var& x) { return mul(g, exp(x)); });
}
Var log(const Var& x) {
  return unary_op("log", k::UnaryOp::log, x, [](const Var& g, const Var& x) { return div(g, x); });
}
Var sqrt(const Var& x) {
  return unary_op("sqrt", k::UnaryOp::sqrt, x, [](const Var& g, const Var& x) { return mul(div(g, sqrt(x)), 0.5); });
}
Var rsqrt(const Var& x) {
  return unary_op("rsqrt", k::UnaryOp::rsqrt, x, [](const Var& g, const Var& x) { return mul(mul(g, pow(x, -1.5)), -0.5); });
}
Var square(const Var& x) {
  return unary_op("square", k::UnaryOp::square, x, [](const Var& g, const Var& x) { return mul(mul(g, x), 2.0); });
}
Var abs(const Var& x) {
  return unary_op("abs", k::UnaryOp::abs, x, [](const Var& g, const Var& x) { return mul(g, constant(k::unary(k::UnaryOp::sign, x.value()))); });
}
Var sin(const Var& x) {
  return unary_op("sin", k::UnaryOp::sin, x, [](const Var& g, const Var& x) { return mul(g, cos(x)); });
}
Var cos(const Var& x) {
  return unary_op("cos", k::UnaryOp::cos, x, [](const Var& g, const Var& x) { return neg(mul(g, sin(x))); });
}
Var tanh(const Var& x) {
  return unary_op("tanh", k::UnaryOp::tanh, x, [](const Var& g, const Var& x) { return mul(g, rsub(1.0, square(tanh(x)))); });
}
Var sigmoid(const Var& x) {
  return unary_op("sigmoid", k::UnaryOp::sigmoid, x, [](const Var& g, const Var& x) {
    const Var s = sigmoid(x);
    return mul(g, mul(s, rsub(1.0, s)));
  });
}
Var relu(const Var& x) {
  return unary_op("relu", k::UnaryOp::relu, x, [](const Var& g, const Var& x) {
    return where(k::compare(k::CompareOp::gt, x.value(), Tensor::zeros({}, DType::f64)), g, zero_like(g));
  });
}
Var silu(const Var& x) {
  return unary_op("silu", k::UnaryOp::silu, x, [](const Var& g, const Var& x) {  // s (1 + x (1 - s))
    const Var s = sigmoid(x);
    return mul(g, mul(s, add(mul(x, rsub(1.0, s)), 1.0)));
  });
}
Var gated_activation(const Var& x, GatedForm form) {
  ROTOR_CHECK(x.dim() >= 1 && x.size(-1) % 2 == 0, "gated_activation: the last dimension must hold [gate | up] ",
              "(even size), got shape ", shape_str(x.shape()));
  const k::Activation act = form == GatedForm::silu ? k::Activation::silu : k::Activation::gelu_erf;
  const DType dt = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor xv = (x.dtype() == dt ? x.value() : x.value().to(dt)).contiguous();
  const int64_t H = x.size(-1) / 2, N = xv.numel() / std::max<int64_t>(2 * H, 1);
  Shape out_shape = x.shape();
  out_shape.back() = H;
  Tensor y = Tensor::empty(out_shape, dt);
  if (dt == DType::f64) k::gated_forward<double>(act, y.data<double>(), xv.data<double>(), N, H);
  else k::gated_forward<float>(act, y.data<float>(), xv.data<float>(), N, H);
  return record("gated_activation", y, {x}, [=](const Tensor& g_in) {
    const Tensor g = (g_in.dtype() == dt ? g_in : g_in.to(dt)).contiguous();
    Tensor dx = Tensor::zeros(xv.shape(), dt);  // the kernel adds
    if (dt == DType::f64) k::gated_backward<double>(act, dx.data<double>(), g.data<double>(), xv.data<double>(), N, H);
    else k::gated_backward<float>(act, dx.data<float>(), g.data<float>(), xv.data<float>(), N, H);
    return Grads{dx};
  });
}

Var gelu(const Var& x, GeluForm form) {
  return form == GeluForm::erf ? unary_op("gelu_erf", k::UnaryOp::gelu_erf, x)
                               : unary_op("gelu_tanh", k::UnaryOp::gelu_tanh, x);
}

Var leaky_relu(const Var& x, double negative_slope) {
  const Tensor xv = x.value();
  return record("leaky_relu", k::leaky_relu(xv, negative_slope), {x},
                [xv, negative_slope](const Tensor& g) { return Grads{k::leaky_relu_backward(xv, negative_slope, g)}; },
                [xv, negative_slope](const Var& g, const Vars&) {  // g times a constant slope mask
                  return Vars{mul(g, constant(k::leaky_relu_backward(xv, negative_slope,
                                                                     Tensor::ones(xv.shape(), g.dtype()))))};
                });
}

Var softplus(const Var& x) { return add(relu(x), log(add(exp(neg(abs(x))), 1.0))); }

Var clamp(const Var& x, double lo, double hi) {
  const Tensor xv = x.value();
  return record("clamp", k::clamp(xv, lo, hi), {x},
                [xv, lo, hi](const Tensor& g) { return Grads{k::clamp_backward(xv, lo, hi, g)}; },
                [xv, lo, hi](const Var& g, const Vars&) {
                  return Vars{mul(g, constant(k::clamp_backward(xv, lo, hi, Tensor::ones(xv.shape(), g.dtype()))))};
                });
}

// ---- selection --------------------------------------------------------------------------------

// y = cond ? a : b: da = where(cond, g, 0), db = where(cond, 0, g) (each reduced to its shape).
Var where(const Tensor& cond, const Var& a, const Var& b) {
  const Tensor av = a.value(), bv = b.value();
  return record("where", k::where(cond, av, bv), {a, b}, [cond, av, bv](const Tensor& g) {
    const Tensor zero = Tensor::zeros({}, g.dtype());
    return Grads{reduce_to(k::where(cond, g, zero), av), reduce_to(k::where(cond, zero, g), bv)};
  }, [cond](const Var& g, const Vars& in) {
    return Vars{reduce_to(where(cond, g, zero_like(g)), in[0]), reduce_to(where(cond, zero_like(g), g), in[1])};
  });
}

Var masked_fill(const Var& x, const Tensor& mask, double value) {
  ROTOR_CHECK(broadcast_shapes(x.shape(), mask.shape()) == x.shape(), "masked_fill: mask ", shape_str(mask.shape()),
              " does not broadcast to ", shape_str(x.shape()));
  const Tensor xv = x.value();
  const Tensor fill = Tensor::full({}, value, k::compute_dtype(xv));
  return record("masked_fill", k::where(mask, fill, xv), {x}, [mask, fill](const Tensor& g) {
    return Grads{k::where(mask, Tensor::zeros({}, g.dtype()), g)};
  }, [mask](const Var& g, const Vars&) { return Vars{where(mask, zero_like(g), g)}; });
}

// ---- gradient checks --------------------------------------------------------------------------

void register_arithmetic_gradchecks(GradcheckRegistry& r) {
  const std::vector<std::vector<Shape>> binary_shapes = {
      {{3, 4}, {3, 4}}, {{2, 3, 4}, {4}}, {{3, 1}, {1, 5}}, {{}, {2, 3}}, {{2, 1, 3}, {4, 1}}, {{4, 1, 5}, {3, 5}}};
  auto bin = [&](const char* name, std::function<Var(const Var&, const Var&)> f, InputDomain d = InputDomain::normal) {
    r.add(GradcheckCase{name, "broadcast", binary_shapes, [f](const VarList& in) { return f(in[0], in[1]); }, d}
              .with_broadcasting());
  };
  bin("add", [](const Var& a, const Var& b) { return add(a, b); });
  bin("sub", [](const Var& a, const Var& b) { return sub(a, b); });
  bin("mul", [](const Var& a, const Var& b) { return mul(a, b); });
  bin("div", [](const Var& a, const Var& b) { return div(a, b); }, InputDomain::positive);
  bin("pow", [](const Var& a, const Var& b) { return pow(a, b); }, InputDomain::positive);
  r.add(GradcheckCase{"maximum", "broadcast", {{{3, 4}, {3, 4}}, {{2, 3}, {3}}, {{4, 1, 5}, {3, 5}}},
                      [](const VarList& in) { return maximum(in[0], in[1]); }, InputDomain::distinct}
            .with_broadcasting());
  r.add(GradcheckCase{"minimum", "broadcast", {{{3, 4}, {3, 4}}, {{2, 3}, {3}}, {{4, 1, 5}, {3, 5}}},
                      [](const VarList& in) { return minimum(in[0], in[1]); }, InputDomain::distinct}
            .with_broadcasting());

  const std::vector<std::vector<Shape>> unary_shapes = {{{5}}, {{3, 4}}, {{2, 3, 4}}, {{}}};
  auto un = [&](const char* name, std::function<Var(const Var&)> f, InputDomain d = InputDomain::normal) {
    r.add({name, "unary", unary_shapes, [f](const VarList& in) { return f(in[0]); }, d});
  };
  un("add_scalar", [](const Var& x) { return x + 1.5; });
  un("mul_scalar", [](const Var& x) { return x * -2.5; });
  un("rsub_scalar", [](const Var& x) { return 3.0 - x; });
  un("rdiv_scalar", [](const Var& x) { return 3.0 / x; }, InputDomain::positive);
  un("pow_scalar", [](const Var& x) { return pow(x, 2.5); }, InputDomain::positive);
  un("pow_scalar_int", [](const Var& x) { return pow(x, 3.0); });
  un("neg", [](const Var& x) { return neg(x); });
  un("exp", [](const Var& x) { return exp(x); });
  un("log", [](const Var& x) { return log(x); }, InputDomain::positive);
  un("sqrt", [](const Var& x) { return sqrt(x); }, InputDomain::positive);
  un("rsqrt", [](const Var& x) { return rsqrt(x); }, InputDomain::positive);
  un("square", [](const Var& x) { return square(x); });
  un("abs", [](const Var& x) { return abs(x); }, InputDomain::away_from_zero);
  un("sin", [](const Var& x) { return sin(x); });
  un("cos", [](const Var& x) { return cos(x); });
  un("tanh", [](const Var& x) { return tanh(x); });
  un("sigmoid", [](const Var& x) { return sigmoid(x); });
  un("relu", [](const Var& x) { return relu(x); }, InputDomain::away_from_zero);
  un("gelu_erf", [](const Var& x) { return gelu(x, GeluForm::erf); });
  un("gelu_tanh", [](const Var& x) { return gelu(x, GeluForm::tanh); });
  un("silu", [](const Var& x) { return silu(x); });
  r.add({"gated_activation", "swiglu", {{{3, 8}}, {{2, 2, 6}}},
         [](const VarList& in) { return gated_activation(in[0], GatedForm::silu); }});
  r.add({"gated_activation", "geglu", {{{3, 8}}},
         [](const VarList& in) { return gated_activation(in[0], GatedForm::gelu); }});
  un("leaky_relu", [](const Var& x) { return leaky_relu(x, 0.2); }, InputDomain::away_from_zero);
  un("softplus", [](const Var& x) { return softplus(x); }, InputDomain::away_from_zero);
  // Bounds at +-0.15 sit between the distinct grid values, away from the kinks.
  const Tensor mask = Tensor::from_vector(std::vector<int32_t>{1, 0, 0, 1}, {4, 1});
  r.add(GradcheckCase{"where", "broadcast mask", {{{4, 3}, {3}}, {{4, 1}, {4, 2}}, {{2, 1, 3}, {4, 3}}},
                      [mask](const VarList& in) { return where(mask, in[0], in[1]); }}
            .with_broadcasting());
  r.add({"masked_fill", "broadcast mask", {{{4, 3}}, {{2, 4, 5}}},
         [mask](const VarList& in) { return masked_fill(in[0], mask, -2.5); }});
  r.add({"clamp", "unary", {{{4, 5}}, {{7}}}, [](const VarList& in) { return clamp(in[0], -0.15, 0.15); },
         InputDomain::distinct});
}

}  // namespace rotor::autograd
