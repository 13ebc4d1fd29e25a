#pragma once
// Friedman's gradient boosting machine (first-order), as scikit-learn's GradientBoostingRegressor /
// GradientBoostingClassifier (binary) compute it: start from the best constant (mean, or log-odds),
// fit a CART regression tree to the negative gradient (residuals) of each round on a row subsample,
// set each leaf to the loss-optimal step (squared error: mean residual; log-loss: one Newton step
// sum(r) / sum(p(1-p))), and add it shrunk by the learning rate.
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/io/table_reader.h"
#include "rotor/trees/cart.h"

namespace rotor::trees {

struct GbmParams {
  std::string loss = "squared_error";  // squared_error (regression) or log_loss (binary classification)
  int estimators = 100;
  double learning_rate = 0.1;
  double subsample = 1.0;              // stochastic gradient boosting: rows per tree, without replacement
  CartParams tree;                     // max_depth defaults to 3 when 0
  uint64_t seed = 0;
};

struct GbmModel {
  std::string loss;
  std::vector<float> classes;  // log_loss: the two labels
  int num_feature = 0;
  double init = 0;             // initial raw prediction
  double learning_rate = 0.1;
  std::vector<CartTree> trees;
  // Regression values, or P(second class) for log_loss; [rows].
  std::vector<float> predict(const float* values, int64_t rows) const;
  std::vector<double> raw(const float* values, int64_t rows) const;
};

GbmModel train_gbm(const io::Table& train, const GbmParams& params);
void save_gbm(const GbmModel& model, const std::string& path);
GbmModel load_gbm(const std::string& path);
std::string gbm_to_json(const GbmModel& model);
GbmModel gbm_from_json_text(const std::string& text, const std::string& source);

}  // namespace rotor::trees
