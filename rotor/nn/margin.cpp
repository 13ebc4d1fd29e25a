#include "rotor/nn/margin.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/views.h"
#include "rotor/core/error.h"
#include "rotor/nn/init.h"

namespace rotor::nn {

using autograd::Var;

MarginKind parse_margin_kind(const std::string& name) {
  if (name == "softmax") return MarginKind::softmax;
  if (name == "normface") return MarginKind::normface;
  if (name == "lsoftmax") return MarginKind::lsoftmax;
  if (name == "asoftmax") return MarginKind::asoftmax;
  if (name == "cosface") return MarginKind::cosface;
  if (name == "arcface") return MarginKind::arcface;
  throw Error(cat("unknown head '", name, "' (softmax, normface, lsoftmax, asoftmax, cosface, arcface)"));
}

const char* margin_kind_name(MarginKind kind) {
  switch (kind) {
    case MarginKind::softmax: return "softmax";
    case MarginKind::normface: return "normface";
    case MarginKind::lsoftmax: return "lsoftmax";
    case MarginKind::asoftmax: return "asoftmax";
    case MarginKind::cosface: return "cosface";
    case MarginKind::arcface: return "arcface";
  }
  return "?";
}

double default_margin(MarginKind kind) {
  switch (kind) {
    case MarginKind::lsoftmax:
    case MarginKind::asoftmax: return 4.0;
    case MarginKind::cosface: return 0.35;
    case MarginKind::arcface: return 0.5;
    default: return 0.0;
  }
}

namespace {

Var row_norms(const Var& x, double eps) {  // [..., 1]
  return autograd::clamp(autograd::sqrt(autograd::sum(autograd::square(x), {-1}, true)), eps,
                         std::numeric_limits<double>::infinity());
}

// A constant of x's dtype and shape from values in logical order.
Tensor constant_like(const Tensor& like, const std::vector<double>& values) {
  return Tensor::from_vector(values, like.shape()).to(like.dtype());
}

// The [N, C] mask of the target column of each row.
Tensor target_mask(const Tensor& targets, int64_t n, int64_t c) {
  ROTOR_CHECK(targets.dim() == 1 && targets.size(0) == n, "margin head: targets must be [", n, "], got ",
              targets.str());
  std::vector<double> mask(static_cast<size_t>(n * c), 0.0);
  const auto t = targets.to_double_vector();
  for (int64_t i = 0; i < n; ++i) {
    const double y = t[static_cast<size_t>(i)];
    ROTOR_CHECK(y >= 0 && y < static_cast<double>(c) && y == std::floor(y), "margin head: target ", y,
                " of row ", i, " is not a class id in [0, ", c, ")");
    mask[static_cast<size_t>(i * c + static_cast<int64_t>(y))] = 1.0;
  }
  return Tensor::from_vector(mask, {n, c});
}

Var cosines(const Var& x, const Var& weight) {
  return autograd::matmul(l2_normalize(x), autograd::transpose(l2_normalize(weight), 0, 1));
}

void check_shapes(const Var& x, const Var& weight) {
  ROTOR_CHECK(x.dim() == 2 && weight.dim() == 2 && x.size(1) == weight.size(1),
              "margin head: features must be [N, D] and weights [C, D], got ", x.value().str(), " and ",
              weight.value().str());
}

int integer_margin(double m) {
  ROTOR_CHECK(m >= 1 && m == std::floor(m) && m <= 16, "lsoftmax/asoftmax: the margin m must be an integer in "
              "[1, 16], got ", m);
  return static_cast<int>(m);
}

}  // namespace

Var l2_normalize(const Var& x, double eps) { return autograd::div(x, row_norms(x, eps)); }

Var angular_psi(const Var& cos_theta, int m) {
  ROTOR_CHECK(m >= 1, "angular_psi: m must be >= 1, got ", m);
  // cos(m theta) = T_m(c): T_0 = 1, T_1 = c, T_{n+1} = 2 c T_n - T_{n-1}.
  const Tensor& c = cos_theta.value();
  Var t_prev(Tensor::ones(c.shape(), c.dtype()));
  Var t = cos_theta;
  for (int n = 1; n < m; ++n) {
    Var next = autograd::sub(autograd::mul(autograd::mul(cos_theta, 2.0), t), t_prev);
    t_prev = t;
    t = next;
  }
  // k = floor(m theta / pi), theta = acos(c); constant in the backward.
  const auto cv = c.to_double_vector();
  std::vector<double> sign(cv.size()), two_k(cv.size());
  for (size_t i = 0; i < cv.size(); ++i) {
    const double theta = std::acos(std::clamp(cv[i], -1.0, 1.0));
    const int k = std::min(m - 1, static_cast<int>(std::floor(m * theta / std::numbers::pi)));
    sign[i] = (k % 2 == 0) ? 1.0 : -1.0;
    two_k[i] = 2.0 * k;
  }
  return autograd::sub(autograd::mul(t, Var(constant_like(c, sign))), Var(constant_like(c, two_k)));
}

Var margin_logits(const Var& x, const Var& weight, const Var& bias, const Tensor& targets,
                  const MarginOptions& o, double lambda) {
  check_shapes(x, weight);
  const int64_t n = x.size(0), classes = weight.size(0);
  const Tensor mask = target_mask(targets, n, classes);
  switch (o.kind) {
    case MarginKind::softmax: return autograd::linear(x, weight, bias);
    case MarginKind::normface: return autograd::mul(cosines(x, weight), o.s);
    case MarginKind::lsoftmax:
    case MarginKind::asoftmax: {
      ROTOR_CHECK(lambda >= 0, "lsoftmax/asoftmax: lambda must be >= 0, got ", lambda);
      const int m = integer_margin(o.m);
      const Var c = cosines(x, weight);
      Var scale = row_norms(x, 1e-12);  // [N, 1]
      if (o.kind == MarginKind::lsoftmax)
        scale = autograd::mul(scale, autograd::transpose(row_norms(weight, 1e-12), 0, 1));  // [N, C]
      const Var target = autograd::mul(autograd::add(autograd::mul(c, lambda), angular_psi(c, m)), 1.0 / (1.0 + lambda));
      return autograd::mul(autograd::where(mask, target, c), scale);
    }
    case MarginKind::cosface: {
      const Var c = cosines(x, weight);
      return autograd::mul(autograd::where(mask, autograd::add(c, -o.m), c), o.s);
    }
    case MarginKind::arcface: {
      const Var c = cosines(x, weight);
      const Var sin = autograd::sqrt(autograd::clamp(autograd::rsub(1.0, autograd::square(c)), 0.0, 1.0));
      const Var phi = autograd::sub(autograd::mul(c, std::cos(o.m)), autograd::mul(sin, std::sin(o.m)));
      const auto cv = c.value().to_double_vector();
      std::vector<double> keep(cv.size());
      const double threshold = o.easy_margin ? 0.0 : std::cos(std::numbers::pi - o.m);
      for (size_t i = 0; i < cv.size(); ++i) keep[i] = cv[i] > threshold ? 1.0 : 0.0;
      const Var fallback = o.easy_margin ? c : autograd::add(c, -std::sin(std::numbers::pi - o.m) * o.m);
      const Var target = autograd::where(Tensor::from_vector(keep, {n, classes}), phi, fallback);
      return autograd::mul(autograd::where(mask, target, c), o.s);
    }
  }
  throw Error("margin head: unknown kind");
}

Var margin_eval_logits(const Var& x, const Var& weight, const Var& bias, const MarginOptions& o) {
  check_shapes(x, weight);
  switch (o.kind) {
    case MarginKind::softmax: return autograd::linear(x, weight, bias);
    case MarginKind::lsoftmax: return autograd::linear(x, weight, Var());
    case MarginKind::asoftmax: return autograd::mul(cosines(x, weight), row_norms(x, 1e-12));
    default: return autograd::mul(cosines(x, weight), o.s);
  }
}

double LambdaSchedule::at(int64_t iteration) const {
  return std::max(lambda_min, base * std::pow(1.0 + gamma * static_cast<double>(iteration), -power));
}

MarginHead::MarginHead(int64_t features, int64_t classes, MarginOptions options, Rng& rng, LambdaSchedule schedule)
    : options_(options), schedule_(schedule) {
  ROTOR_CHECK(features > 0 && classes > 1, "MarginHead: need features > 0 and classes > 1, got ", features, ", ",
              classes);
  if (options_.kind == MarginKind::lsoftmax || options_.kind == MarginKind::asoftmax) integer_margin(options_.m);
  const double k = 1.0 / std::sqrt(static_cast<double>(features));
  weight_ = add_parameter("weight", uniform_tensor({classes, features}, -k, k, rng, DType::f32));
  if (options_.kind == MarginKind::softmax) bias_ = add_parameter("bias", Tensor::zeros({classes}));
}

Var MarginHead::forward(const Var& x, const Tensor& targets) {
  const double lambda = schedule_.at(iteration_);
  if (is_training()) ++iteration_;
  return margin_logits(x, weight_, bias_, targets, options_, lambda);
}

Var MarginHead::eval_logits(const Var& x) const { return margin_eval_logits(x, weight_, bias_, options_); }

}  // namespace rotor::nn
