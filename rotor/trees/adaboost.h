#pragma once
// AdaBoost over CART trees, following scikit-learn 1.2:
//   SAMME (classification, K classes): weighted error e of tree m, weight
//     a_m = lr * (log((1-e)/e) + log(K-1)); misclassified rows' weights are multiplied by exp(a_m),
//     then all weights renormalized; a tree with e >= 1 - 1/K is dropped and boosting stops; e == 0
//     keeps the tree with weight 1 and stops. Decision: sum_m a_m [tree_m(x) == k] / sum_m a_m,
//     probabilities softmax(decision / (K-1)) (binary: decision d -> softmax([-d, d] / 2)).
//   AdaBoost.R2 (regression, Drucker 1997): each tree fits a weighted bootstrap sample; losses
//     linear / square / exponential of |error| / max|error|; beta = L/(1-L); weights *= beta^((1-loss)*lr);
//     prediction = weighted median of the trees' predictions with weights log(1/beta) * lr.
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/io/table_reader.h"
#include "rotor/trees/cart.h"

namespace rotor::trees {

struct AdaBoostParams {
  int estimators = 50;
  double learning_rate = 1.0;
  CartParams tree;              // default depth: 1 (classification), 3 (regression) when max_depth == 0
  std::string loss = "linear";  // R2: linear, square, exponential
  uint64_t seed = 0;
};

struct AdaBoostModel {
  bool classification = true;
  std::vector<float> classes;
  int num_feature = 0;
  std::vector<CartTree> trees;
  std::vector<double> weights;  // per tree
  std::vector<double> errors;   // per tree (weighted error / loss)

  int num_outputs() const { return classification ? static_cast<int>(classes.size()) : 1; }
  // Class probabilities [rows, K], or regression values [rows].
  std::vector<float> predict(const float* values, int64_t rows) const;
};

AdaBoostModel train_adaboost(const io::Table& train, const AdaBoostParams& params, bool classification);

void save_adaboost(const AdaBoostModel& model, const std::string& path);
AdaBoostModel load_adaboost(const std::string& path);
std::string adaboost_to_json(const AdaBoostModel& model);
AdaBoostModel adaboost_from_json_text(const std::string& text, const std::string& source);

}  // namespace rotor::trees
