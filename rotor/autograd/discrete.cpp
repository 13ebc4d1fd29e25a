#include "rotor/autograd/discrete.h"

#include <cmath>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/softmax.h"
#include "rotor/core/error.h"

namespace rotor::autograd {

using Grads = std::vector<Tensor>;

// y = forward: d forward = none, d surrogate = dy.
Var straight_through(const Var& forward, const Var& surrogate) {
  ROTOR_CHECK(forward.shape() == surrogate.shape(), "straight_through: forward ", forward.value().str(),
              " and surrogate ", surrogate.value().str(), " differ in shape");
  return record(
      "straight_through", forward.value(), {forward, surrogate}, [](const Tensor& g) { return Grads{Tensor(), g}; },
      [](const Var& g, const std::vector<Var>&) { return std::vector<Var>{Var(), g}; });
}

Tensor gumbel_noise(const Shape& shape, Rng& rng, DType dtype) {
  ROTOR_CHECK(dtype == DType::f32 || dtype == DType::f64, "gumbel_noise: wants f32 or f64");
  Tensor g = Tensor::empty(shape, dtype);
  const int64_t n = g.numel();
  for (int64_t i = 0; i < n; ++i) {
    // u in (0, 1): uniform() is in [0, 1), so 1 - uniform() is in (0, 1].  -log(-log(u)) needs u < 1 too.
    double u = 1.0 - rng.uniform();
    if (u >= 1.0) u = std::nextafter(1.0, 0.0);
    const double v = -std::log(-std::log(u));
    if (dtype == DType::f64) g.data<double>()[i] = v;
    else g.data<float>()[i] = static_cast<float>(v);
  }
  return g;
}

Tensor one_hot_argmax(const Tensor& x) {
  ROTOR_CHECK(x.dim() >= 1 && x.size(-1) >= 1, "one_hot_argmax: wants [..., K], got ", x.str());
  const Tensor dense = x.contiguous().to(DType::f64);
  const int64_t k = x.size(-1), rows = x.numel() / k;
  Tensor out = Tensor::zeros(x.shape(), DType::f64);
  const double* p = dense.data<double>();
  double* o = out.data<double>();
  for (int64_t r = 0; r < rows; ++r) {
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (p[r * k + j] > p[r * k + best]) best = j;
    o[r * k + best] = 1.0;
  }
  return out.to(x.dtype());
}

Var gumbel_softmax(const Var& logits, const Tensor& noise, double tau, bool hard) {
  ROTOR_CHECK(tau > 0 && std::isfinite(tau), "gumbel_softmax: temperature ", tau, " is not positive");
  ROTOR_CHECK(noise.shape() == logits.shape(), "gumbel_softmax: noise ", noise.str(), " does not match logits ",
              logits.value().str());
  const Var soft = softmax(mul(add(logits, Var(noise.to(logits.dtype()))), 1.0 / tau), -1);
  if (!hard) return soft;
  return straight_through(Var(one_hot_argmax(soft.value())), soft);
}

void register_discrete_gradchecks(GradcheckRegistry& r) {
  // The straight-through gradient equals the true one exactly when forward and surrogate are the same
  // function of the inputs; then finite differences check that the gradient reaches the surrogate once
  // and the forward not at all (a gradient to both would double it, to neither would vanish).
  r.add({"straight_through", "forward = surrogate", {{{3, 5}}, {{2, 3, 4}}, {{1}}},
         [](const VarList& in) { return straight_through(tanh(in[0]), tanh(in[0])); }});
  r.add({"straight_through", "two inputs, same function", {{{4, 3}, {4, 3}}},
         [](const VarList& in) { return straight_through(mul(in[0], in[1]), mul(in[1], in[0])); }});
  // Soft Gumbel-softmax with fixed noise: a differentiable function of the logits.
  for (double tau : {1.0, 0.5}) {
    r.add({"gumbel_softmax", cat("soft, tau ", tau), {{{3, 5}}, {{2, 3, 4}}, {{1, 6}}},
           [tau](const VarList& in) {
             Rng rng(11);
             return gumbel_softmax(in[0], gumbel_noise(in[0].shape(), rng, in[0].dtype()), tau, false);
           }});
  }
}

}  // namespace rotor::autograd
