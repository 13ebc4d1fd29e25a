#pragma once
// Random forests (Breiman) and extremely randomized trees over CART: each tree sees a bootstrap
// sample (or all rows) and tries max_features random features per split. Classification averages the
// trees' class proportions (as scikit-learn does); regression averages the leaf means. Out-of-bag
// predictions give the OOB score; importances are the mean decrease in impurity, and permutation
// importance is computed on any labelled table. A single CART tree is a forest of one tree without
// bootstrap that tries every feature.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rotor/io/table_reader.h"
#include "rotor/trees/cart.h"

namespace rotor::trees {

struct ForestParams {
  int trees = 100;
  CartParams tree;                 // criterion, depth and leaf limits, max_features, extra trees
  std::string max_features = "auto";  // auto (sqrt for classification, all for regression), sqrt, log2, N, FRACTION
  bool bootstrap = true;
  bool impute_median = false;      // replace missing values by the training median of the column
  uint64_t seed = 0;
  // Across the ranks of rotor/dist (every rank holding all the rows): tree t is grown by rank
  // t % size() with the seed of the one-process run; the trees are then exchanged, so every rank ends
  // with the one-process model (and OOB score).
  bool distributed = false;
};

// Resolves a max_features spec to a count in [1, cols].
int resolve_max_features(const std::string& spec, int cols, bool classification);

struct ForestModel {
  bool classification = true;
  std::vector<float> classes;     // sorted distinct labels (classification)
  int num_feature = 0;
  std::vector<CartTree> trees;
  std::vector<double> importances;  // mean decrease in impurity, sums to 1
  std::vector<float> impute_values;  // [num_feature] when trained with impute_median, else empty

  // Fills missing values with impute_values; throws naming the table if any remain.
  void prepare(io::Table& table) const;
  int num_outputs() const { return classification ? static_cast<int>(classes.size()) : 1; }
  // [rows, num_outputs()]: class probabilities, or the regression value.
  std::vector<float> predict(const float* values, int64_t rows) const;
  void check_table(const io::Table& table) const;
};

struct ForestResult {
  ForestModel model;
  double oob_score = 0;   // accuracy (classification) or R^2 (regression) over rows with OOB votes
  double oob_auc = -1;    // binary classification only
  int64_t oob_rows = 0;   // rows that were out of bag at least once
  bool stopped = false;   // ended at ForestCheckpointHooks::stop_at
};

// A forest run saved part-way (`rotor forest train --checkpoint-every / --stop-at / --resume`): the trees
// [0, trees_done). Tree t depends only on the data and its own seed (the t-th draw from the run's seed), so
// a resumed run, at any number of ranks, grows the remaining trees into the uninterrupted run's forest.
struct ForestCheckpoint {
  int trees_done = 0;
  ForestModel partial;      // classes, num_feature, impute_values and trees [0, trees_done)
  std::string config;       // the caller's description of the run, compared on resume
  std::string data_digest;  // of the training rows (rotor/trees/table_digest.h), compared on resume
};

struct ForestCheckpointHooks {
  int every = 0;    // trees are grown in groups of `every`; after each, save() (0: one group, no saves)
  int stop_at = 0;  // stop after this many trees, saving (0: grow them all)
  const ForestCheckpoint* resume = nullptr;                 // continue this run
  std::function<void(const ForestCheckpoint&)> save;        // called on every rank (rank 0 writes)
};

std::string forest_checkpoint_to_json(const ForestCheckpoint& c);
ForestCheckpoint forest_checkpoint_from_json(const std::string& text, const std::string& source);

// With checkpoints.stop_at below params.trees the result is `stopped` and holds no model.
ForestResult train_forest(const io::Table& train, const ForestParams& params, bool classification,
                          const ForestCheckpointHooks& checkpoints = {});

// Accuracy (classification) or R^2 (regression) of the model on a labelled table.
double forest_score(const ForestModel& model, const io::Table& table);
// Mean score drop when one feature's column is shuffled, over `repeats` seeded shuffles.
std::vector<double> permutation_importance(const ForestModel& model, const io::Table& table, int repeats,
                                           uint64_t seed);

void save_forest(const ForestModel& model, const std::string& path);
ForestModel load_forest(const std::string& path);
std::string forest_to_json(const ForestModel& model);
ForestModel forest_from_json_text(const std::string& text, const std::string& source);

}  // namespace rotor::trees
