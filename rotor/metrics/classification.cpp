#include "rotor/metrics/classification.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rotor/core/error.h"

namespace rotor::metrics {

namespace {
inline double weight_of(const float* w, int64_t i) { return w ? static_cast<double>(w[i]) : 1.0; }
}  // namespace

double auc(const float* labels, const float* scores, const float* weights, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  // Walk groups of tied scores from the highest; each group adds its trapezoid.
  double tp = 0, fp = 0, area = 0;
  for (int64_t i = 0; i < n;) {
    double gtp = 0, gfp = 0;
    int64_t j = i;
    for (; j < n && scores[order[j]] == scores[order[i]]; ++j) {
      const double w = weight_of(weights, order[j]);
      if (labels[order[j]] > 0.5f) gtp += w;
      else gfp += w;
    }
    area += gfp * (tp + gtp / 2);
    tp += gtp;
    fp += gfp;
    i = j;
  }
  ROTOR_CHECK(tp > 0 && fp > 0, "auc: needs both positive and negative labels");
  return area / (tp * fp);
}

double logloss(const float* labels, const float* probs, const float* weights, int64_t n) {
  double sum = 0, wsum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double p = std::clamp(static_cast<double>(probs[i]), 1e-15, 1 - 1e-15);
    const double y = labels[i], w = weight_of(weights, i);
    sum -= w * (y * std::log(p) + (1 - y) * std::log(1 - p));
    wsum += w;
  }
  return sum / wsum;
}

double mlogloss(const float* labels, const float* probs, int num_class, const float* weights, int64_t n) {
  double sum = 0, wsum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int y = static_cast<int>(labels[i]);
    const double p = std::clamp(static_cast<double>(probs[i * num_class + y]), 1e-15, 1 - 1e-15);
    const double w = weight_of(weights, i);
    sum -= w * std::log(p);
    wsum += w;
  }
  return sum / wsum;
}

double rmse(const float* labels, const float* preds, const float* weights, int64_t n) {
  double sum = 0, wsum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(preds[i]) - labels[i], w = weight_of(weights, i);
    sum += w * d * d;
    wsum += w;
  }
  return std::sqrt(sum / wsum);
}

double mae(const float* labels, const float* preds, const float* weights, int64_t n) {
  double sum = 0, wsum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double w = weight_of(weights, i);
    sum += w * std::fabs(static_cast<double>(preds[i]) - labels[i]);
    wsum += w;
  }
  return sum / wsum;
}

double binary_error(const float* labels, const float* probs, const float* weights, int64_t n) {
  double wrong = 0, wsum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double w = weight_of(weights, i);
    if ((probs[i] > 0.5f) != (labels[i] > 0.5f)) wrong += w;
    wsum += w;
  }
  return wrong / wsum;
}

double merror(const float* labels, const float* probs, int num_class, const float* weights, int64_t n) {
  double wrong = 0, wsum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* p = probs + i * num_class;
    const int arg = static_cast<int>(std::max_element(p, p + num_class) - p);
    const double w = weight_of(weights, i);
    if (arg != static_cast<int>(labels[i])) wrong += w;
    wsum += w;
  }
  return wrong / wsum;
}

double evaluate(const std::string& name, const std::vector<float>& labels, const std::vector<float>& preds,
                int num_class, const std::vector<float>& weights) {
  const int64_t n = static_cast<int64_t>(labels.size());
  const float* w = weights.empty() ? nullptr : weights.data();
  const int k = std::max(num_class, 1);
  ROTOR_CHECK(static_cast<int64_t>(preds.size()) == n * k, "metric ", name, ": ", preds.size(),
              " predictions for ", n, " labels x ", k, " outputs");
  const bool multi = num_class > 1;
  if (name == "auc") {
    ROTOR_CHECK(!multi, "metric auc: only for binary predictions");
    return auc(labels.data(), preds.data(), w, n);
  }
  if (name == "logloss") return multi ? mlogloss(labels.data(), preds.data(), k, w, n) : logloss(labels.data(), preds.data(), w, n);
  if (name == "mlogloss") return mlogloss(labels.data(), preds.data(), k, w, n);
  if (name == "rmse") return rmse(labels.data(), preds.data(), w, n);
  if (name == "mae") return mae(labels.data(), preds.data(), w, n);
  if (name == "error") return multi ? merror(labels.data(), preds.data(), k, w, n) : binary_error(labels.data(), preds.data(), w, n);
  if (name == "merror") return merror(labels.data(), preds.data(), k, w, n);
  if (name == "accuracy")
    return 1.0 - (multi ? merror(labels.data(), preds.data(), k, w, n) : binary_error(labels.data(), preds.data(), w, n));
  throw Error(cat("unknown metric '", name, "' (expected auc, logloss, mlogloss, rmse, mae, error, merror, accuracy)"));
}

bool larger_is_better(const std::string& name) { return name == "auc" || name == "accuracy"; }

}  // namespace rotor::metrics
