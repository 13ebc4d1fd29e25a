#pragma once
// CART decision trees on exact (unbinned) feature values, in scikit-learn's formulation: best split
// over sorted values with midpoint thresholds (x <= threshold goes left), gini / entropy / squared
// error, max_depth, min_samples_split / min_samples_leaf, min_impurity_decrease, a random subset of
// features per split (max_features), extremely randomized thresholds (extra trees), and minimal
// cost-complexity pruning (ccp_alpha). Nodes are numbered in depth-first order as in scikit-learn.
// Missing values are not supported (an error).
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/core/rng.h"

namespace rotor::trees {

enum class Criterion { kGini, kEntropy, kSquaredError };
Criterion parse_criterion(const std::string& name);  // gini, entropy, squared_error (or mse)

struct CartParams {
  Criterion criterion = Criterion::kGini;
  int max_depth = 0;               // 0 = unlimited
  int64_t min_samples_split = 2;
  int64_t min_samples_leaf = 1;
  double min_impurity_decrease = 0.0;
  double ccp_alpha = 0.0;
  int max_features = 0;            // features tried per split; 0 = all
  bool random_thresholds = false;  // extra trees: one uniform threshold per feature
};

struct CartNode {
  int32_t left = -1, right = -1;   // -1: leaf
  int32_t feature = -1;
  double threshold = 0;            // x <= threshold -> left
  double impurity = 0;
  double weight = 0;               // weighted number of samples
  int64_t samples = 0;
  bool is_leaf() const { return left < 0; }
};

struct CartTree {
  int num_outputs = 1;             // classes for classification, 1 for regression
  std::vector<CartNode> nodes;
  std::vector<double> values;      // [nodes, num_outputs]: class weights, or the mean target

  const double* value(int node) const { return values.data() + static_cast<size_t>(node) * num_outputs; }
  int leaf_for(const float* x) const {
    int n = 0;
    while (!nodes[n].is_leaf()) n = x[nodes[n].feature] <= nodes[n].threshold ? nodes[n].left : nodes[n].right;
    return n;
  }
  int depth() const;
  int num_leaves() const;
};

// X: [rows, cols] row-major, no NaN. targets: class index (num_classes > 0) or value
// (num_classes == 0). weights: per-row sample weights (e.g. bootstrap counts) or null.
// Rows with weight 0 are left out.
CartTree fit_cart(const float* X, int64_t rows, int cols, const float* targets, const double* weights,
                  int num_classes, const CartParams& params, Rng& rng);

// Minimal cost-complexity pruning: repeatedly collapses the weakest link while its effective alpha
// is <= alpha. Node order is kept (pruned subtrees are removed and ids compacted).
void prune_cost_complexity(CartTree& tree, double alpha);

// Mean decrease in impurity per feature (weighted), normalized to sum to 1 (all zero for a stump).
std::vector<double> impurity_importances(const CartTree& tree, int cols);

}  // namespace rotor::trees
