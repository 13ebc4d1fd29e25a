#pragma once
// Objectives of gradient boosting: per-row gradient and hessian of the loss at the current margin,
// the link from margin to prediction, and the margin of the constant base score. Formulas follow
// XGBoost 1.7 (reg:squarederror, binary:logistic, multi:softprob, count:poisson,
// reg:pseudohubererror); weights multiply both gradient and hessian.
#include <memory>
#include <string>
#include <vector>

#include "rotor/trees/histogram.h"

namespace rotor::trees {

struct ObjectiveParams {
  int num_class = 0;               // multi:softprob
  double huber_slope = 1.0;        // reg:pseudohubererror
  double poisson_max_delta_step = 0.7;  // count:poisson (XGBoost's default, a hessian safeguard)
  double quantile_alpha = 0.5;     // reg:quantileerror
};

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::string name() const = 0;
  virtual int num_outputs() const { return 1; }
  // Throws naming `source` and the row when a label is invalid for this objective.
  virtual void check_labels(const std::vector<float>& labels, const std::string& source) const;
  // margins: [n, K]; gpair: [K, n] (one contiguous block per output).
  virtual void gradients(const float* margins, const float* labels, const float* weights, int64_t n,
                         GradPair* gpair) const = 0;
  // margins -> predictions in place, [n, K].
  virtual void transform(float* values, int64_t n) const {}
  // The margin corresponding to a base score given in prediction space.
  virtual float base_margin(double base_score) const { return static_cast<float>(base_score); }
  virtual std::vector<std::string> default_metrics() const = 0;
  // Objectives whose leaves are re-fitted after a tree is grown (quantile: the alpha-quantile of the
  // residuals y - margin of the leaf's rows, as XGBoost 2 and LightGBM do). Returns the quantile
  // level, or a negative value for "no refit".
  virtual double leaf_quantile() const { return -1.0; }
};

std::unique_ptr<Objective> make_objective(const std::string& name, const ObjectiveParams& params);

}  // namespace rotor::trees
