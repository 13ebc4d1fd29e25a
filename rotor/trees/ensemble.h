#pragma once
// Meta-ensembles over any of rotor's tree learners (tree, forest, boost, adaboost, gbm):
//   bagging  - N copies of a learner, each trained on a bootstrap sample of the rows; predictions
//              (class probabilities or values) are averaged;
//   stacking - k-fold out-of-fold predictions of several base learners become the features of a
//              meta-learner (L2 logistic regression for classification, one-vs-rest when K > 2 and
//              renormalized; ridge regression for regression); base learners are then refit on all rows.
// Learners are named by a spec "kind:key=value,key=value", e.g. "boost:rounds=50,max_depth=4".
// Classification labels must be the integers 0..K-1.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rotor/io/table_reader.h"

namespace rotor::trees {

// A trained model of any supported kind.
class AnyModel {
 public:
  virtual ~AnyModel() = default;
  // [rows, K] class probabilities (classification) or [rows] values.
  virtual std::vector<float> predict(const float* values, int64_t rows) const = 0;
  virtual std::string kind() const = 0;
  virtual std::string to_json() const = 0;
};

struct LearnerSpec {
  std::string kind;
  std::vector<std::pair<std::string, std::string>> params;
  static LearnerSpec parse(const std::string& text);
  std::string to_string() const;
};

// Trains one learner. num_classes: 0 for regression, K >= 2 for classification.
std::unique_ptr<AnyModel> train_learner(const LearnerSpec& spec, const io::Table& data, int num_classes,
                                        uint64_t seed);
std::unique_ptr<AnyModel> any_model_from_json(const std::string& kind, const std::string& json_text,
                                              const std::string& source, int num_classes);

struct EnsembleModel {
  std::string method;  // bagging or stacking
  int num_classes = 0;
  int num_feature = 0;
  std::vector<LearnerSpec> specs;                // per base model
  std::vector<std::unique_ptr<AnyModel>> bases;  // bagging: the copies; stacking: one per spec
  std::vector<std::vector<double>> meta;         // stacking: per output, coefficients (+ intercept last)

  int num_outputs() const { return num_classes > 0 ? num_classes : 1; }
  std::vector<float> predict(const float* values, int64_t rows) const;
};

struct EnsembleResult {
  EnsembleModel model;
  double oof_score = 0;  // stacking: accuracy / R^2 of the meta-learner on out-of-fold features
};

EnsembleResult train_bagging(const io::Table& data, const LearnerSpec& spec, int estimators, double max_samples,
                             int num_classes, uint64_t seed);
EnsembleResult train_stacking(const io::Table& data, const std::vector<LearnerSpec>& specs, int folds,
                              int num_classes, double meta_l2, uint64_t seed);

void save_ensemble(const EnsembleModel& model, const std::string& path);
EnsembleModel load_ensemble(const std::string& path);

}  // namespace rotor::trees
