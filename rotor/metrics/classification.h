#pragma once
// Evaluation metrics for binary, multiclass and regression predictions. weights may be empty
// (all ones). Definitions follow XGBoost/scikit-learn:
//   auc      area under the ROC curve (ties get half credit; weighted by sample weights)
//   logloss  -mean(y log p + (1-y) log(1-p)), p clipped to [1e-15, 1-1e-15]
//   mlogloss -mean(log p[y])           (probabilities [n, K])
//   rmse     sqrt(mean((p-y)^2))
//   mae      mean(|p-y|)
//   error    fraction of rows with (p > 0.5) != y
//   merror   fraction of rows whose argmax class != y
//   accuracy 1 - merror (or 1 - error for binary)
#include <cstdint>
#include <string>
#include <vector>

namespace rotor::metrics {

double auc(const float* labels, const float* scores, const float* weights, int64_t n);
double logloss(const float* labels, const float* probs, const float* weights, int64_t n);
double mlogloss(const float* labels, const float* probs, int num_class, const float* weights, int64_t n);
double rmse(const float* labels, const float* preds, const float* weights, int64_t n);
double mae(const float* labels, const float* preds, const float* weights, int64_t n);
double binary_error(const float* labels, const float* probs, const float* weights, int64_t n);
double merror(const float* labels, const float* probs, int num_class, const float* weights, int64_t n);

// Evaluates a metric by name ("auc", "logloss", "mlogloss", "rmse", "mae", "error", "merror",
// "accuracy") on predictions laid out [n] or [n, num_class]. Throws on an unknown name.
double evaluate(const std::string& name, const std::vector<float>& labels, const std::vector<float>& preds,
                int num_class, const std::vector<float>& weights);
// True when a larger value is better (auc, accuracy).
bool larger_is_better(const std::string& name);

}  // namespace rotor::metrics
