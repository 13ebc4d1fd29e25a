#include "rotor/trees/prediction_score.h"

#include <algorithm>
#include <cstdint>

namespace rotor::trees {

double r2_score(const std::vector<float>& y, const std::vector<float>& pred, const std::vector<char>* use) {
  double mean = 0, n = 0;
  for (size_t i = 0; i < y.size(); ++i)
    if (!use || (*use)[i]) mean += y[i], n += 1;
  mean /= n;
  double ss_res = 0, ss_tot = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (use && !(*use)[i]) continue;
    ss_res += (y[i] - static_cast<double>(pred[i])) * (y[i] - static_cast<double>(pred[i]));
    ss_tot += (y[i] - mean) * (y[i] - mean);
  }
  return ss_tot > 0 ? 1.0 - ss_res / ss_tot : 0.0;
}

double prediction_score(bool classification, const std::vector<float>& classes, const std::vector<float>& labels,
                        const std::vector<float>& pred) {
  if (!classification) return r2_score(labels, pred);
  const int64_t rows = static_cast<int64_t>(labels.size());
  const int64_t K = static_cast<int64_t>(classes.size());
  int64_t correct = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = pred.data() + r * K;
    correct += classes[std::max_element(p, p + K) - p] == labels[r];
  }
  return static_cast<double>(correct) / static_cast<double>(rows);
}

}  // namespace rotor::trees
