#include "rotor/nn/surrogates.h"

#include <cmath>
#include <vector>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/indexing.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/softmax.h"
#include "rotor/autograd/views.h"
#include "rotor/core/error.h"

namespace rotor::nn {

using autograd::Var;

namespace {

// One-hot [N, C] of integer targets, in `dtype`.
Tensor one_hot(const Tensor& targets, int64_t n, int64_t c, DType dtype, const char* what) {
  ROTOR_CHECK(targets.dim() == 1 && targets.size(0) == n, what, ": targets must be [", n, "], got ", targets.str());
  std::vector<double> y(static_cast<size_t>(n * c), 0.0);
  const auto t = targets.to_double_vector();
  for (int64_t i = 0; i < n; ++i) {
    const double v = t[static_cast<size_t>(i)];
    ROTOR_CHECK(v >= 0 && v < static_cast<double>(c) && v == std::floor(v), what, ": target ", v, " of row ", i,
                " is not a class id in [0, ", c, ")");
    y[static_cast<size_t>(i * c + static_cast<int64_t>(v))] = 1.0;
  }
  return Tensor::from_vector(y, {n, c}).to(dtype);
}

// Binary labels as 0/1 values of `dtype`, checked.
Tensor binary_labels(const Var& scores, const Tensor& labels, const char* what) {
  ROTOR_CHECK(scores.dim() == 1 && labels.dim() == 1 && labels.size(0) == scores.size(0), what,
              ": scores must be [N] and labels [N], got ", scores.value().str(), " and ", labels.str());
  for (double v : labels.to_double_vector()) ROTOR_CHECK(v == 0 || v == 1, what, ": labels must be 0 or 1, got ", v);
  return labels.to(scores.dtype());
}

void check_logits(const Var& logits, const char* what) {
  ROTOR_CHECK(logits.dim() == 2 && logits.size(0) > 0, what, ": logits must be [N, C], got ", logits.value().str());
}

// 1 - 2 tp / (2 tp + fp + fn + eps), elementwise over tp/fp/fn.
Var one_minus_f1(const Var& tp, const Var& fp, const Var& fn, double eps) {
  const Var two_tp = autograd::mul(tp, 2.0);
  return autograd::rsub(1.0, autograd::div(two_tp, autograd::add(autograd::add(two_tp, fp + fn), eps)));
}

}  // namespace

Var soft_accuracy_loss(const Var& logits, const Tensor& targets) {
  check_logits(logits, "soft_accuracy_loss");
  const Tensor y = one_hot(targets, logits.size(0), logits.size(1), logits.dtype(), "soft_accuracy_loss");
  const Var p = autograd::softmax(logits, -1);
  return autograd::rsub(1.0, autograd::mul(autograd::sum(autograd::mul(p, Var(y))), 1.0 / logits.size(0)));
}

Var soft_macro_f1_loss(const Var& logits, const Tensor& targets, double eps) {
  check_logits(logits, "soft_macro_f1_loss");
  const Var y(one_hot(targets, logits.size(0), logits.size(1), logits.dtype(), "soft_macro_f1_loss"));
  const Var p = autograd::softmax(logits, -1);
  const Var tp = autograd::sum(autograd::mul(p, y), {0});
  const Var fp = autograd::sub(autograd::sum(p, {0}), tp);
  const Var fn = autograd::sub(autograd::sum(y, {0}), tp);
  return autograd::mean(one_minus_f1(tp, fp, fn, eps));
}

Var soft_binary_accuracy_loss(const Var& scores, const Tensor& labels) {
  const Var y(binary_labels(scores, labels, "soft_binary_accuracy_loss"));
  const Var p = autograd::sigmoid(scores);
  // y p + (1 - y)(1 - p) = 1 - y - p + 2 y p
  const Var correct = autograd::add(autograd::sub(autograd::mul(autograd::mul(y, p), 2.0), autograd::add(y, p)), 1.0);
  return autograd::rsub(1.0, autograd::mean(correct));
}

Var soft_binary_f1_loss(const Var& scores, const Tensor& labels, double eps) {
  const Var y(binary_labels(scores, labels, "soft_binary_f1_loss"));
  const Var p = autograd::sigmoid(scores);
  const Var tp = autograd::sum(autograd::mul(p, y));
  return one_minus_f1(tp, autograd::sub(autograd::sum(p), tp), autograd::sub(autograd::sum(y), tp), eps);
}

Var pairwise_auc_loss(const Var& scores, const Tensor& labels, double tau) {
  binary_labels(scores, labels, "pairwise_auc_loss");
  ROTOR_CHECK(tau > 0, "pairwise_auc_loss: tau must be positive, got ", tau);
  std::vector<int64_t> pos, neg;
  const auto l = labels.to_double_vector();
  for (size_t i = 0; i < l.size(); ++i) (l[i] == 1 ? pos : neg).push_back(static_cast<int64_t>(i));
  ROTOR_CHECK(!pos.empty() && !neg.empty(), "pairwise_auc_loss: needs both a positive and a negative label, got ",
              pos.size(), " positives and ", neg.size(), " negatives");
  const Var sp = autograd::unsqueeze(
      autograd::index_select(scores, 0, Tensor::from_vector(pos, {static_cast<int64_t>(pos.size())})), 1);
  const Var sn = autograd::unsqueeze(
      autograd::index_select(scores, 0, Tensor::from_vector(neg, {static_cast<int64_t>(neg.size())})), 0);
  return autograd::rsub(1.0, autograd::mean(autograd::sigmoid(autograd::mul(autograd::sub(sp, sn), 1.0 / tau))));
}

}  // namespace rotor::nn
