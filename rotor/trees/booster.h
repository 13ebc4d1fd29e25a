#pragma once
// Second-order histogram gradient boosting (XGBoost's "hist" formulation): each round computes
// gradient pairs from the objective, grows one tree per output with HistTreeBuilder on the binned
// training data, and adds its leaves to the margins. Optional row subsampling, column sampling
// (by tree / level / node), evaluation on a validation set each round and early stopping.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "rotor/io/table_reader.h"
#include "rotor/trees/boost_model.h"
#include "rotor/trees/hist_tree_builder.h"

namespace rotor::trees {

struct BoostParams {
  std::string objective = "reg:squarederror";
  int num_class = 0;
  int rounds = 10;
  TreeParams tree;                  // max_depth, max_leaves, grow policy, lambda, alpha, gamma, eta, ...
  double subsample = 1.0;
  double colsample_bytree = 1.0;
  int max_bin = 256;
  double base_score = 0.5;          // XGBoost 1.7's default; in prediction space
  double huber_slope = 1.0;
  double quantile_alpha = 0.5;      // reg:quantileerror
  // XGBoost sets max_delta_step to 0.7 for count:poisson unless the user gave one; this flag says
  // tree.penalty.max_delta_step was given explicitly.
  bool max_delta_step_given = false;
  int early_stopping_rounds = 0;    // 0 = off; needs a validation set
  std::vector<std::string> eval_metrics;  // empty: the objective's default
  bool eval_train = false;          // also evaluate the training set each round
  uint64_t seed = 0;
  // Train across the ranks of rotor/dist: `train` holds this rank's rows (a consecutive block of the
  // global rows, in rank order); cuts, histograms and training metrics cover all ranks' rows, so every
  // rank gets the model of one process on all rows. `valid` must be the whole validation set on every rank.
  bool distributed = false;
};

// One round's evaluation results, e.g. {"valid-auc", 0.93}.
struct RoundEval {
  int round = 0;
  std::vector<std::pair<std::string, double>> values;
  std::string to_string() const;
};

struct TrainResult {
  BoostModel model;
  std::vector<RoundEval> history;
  int best_iteration = -1;
  double best_score = std::numeric_limits<double>::quiet_NaN();
  bool stopped = false;  // stopped at CheckpointHooks::stop_at: the model is not finished
};

using RoundCallback = std::function<void(const RoundEval&)>;

// A run after some rounds: what a checkpoint holds and a resumed run continues from. With the same data,
// parameters and rounds, continuing gives the model of the uninterrupted run (bit for bit: the margins
// are rebuilt by adding each tree's leaves in tree order, as training added them; the generator carries on
// from its saved state) -- at any number of ranks.
struct BoostCheckpoint {
  int rounds_done = 0;
  BoostModel model;               // the trees of rounds [0, rounds_done)
  std::vector<RoundEval> history;
  int best_iteration = -1;
  double best_score = std::numeric_limits<double>::quiet_NaN();
  int rounds_without_gain = 0;
  uint64_t rng[4] = {0, 0, 0, 0};  // the generator's state (rotor::Rng::State; no spare normal in use)
  std::string config;             // the caller's description of the run, compared on resume
  std::string data_digest;        // of the training rows (all ranks'), compared on resume
};

struct CheckpointHooks {
  int every = 0;                   // call save after every `every` rounds (0: never)
  std::function<void(const BoostCheckpoint&)> save;
  const BoostCheckpoint* resume = nullptr;  // continue this run
  int stop_at = 0;                 // stop after this round (1-based), saving a checkpoint (0: run to the end)
};

// JSON text of a checkpoint (the model in rotor's model JSON) and back; a malformed file throws naming
// `source`.
std::string checkpoint_to_json(const BoostCheckpoint& c);
BoostCheckpoint checkpoint_from_json(const std::string& text, const std::string& source);

// Parses monotone constraints written as "(1,-1,0)" or "1,-1,0".
std::vector<int> parse_monotone(const std::string& text);

// Trains on `train` (labels required), evaluating on `valid` when given.
TrainResult train_booster(const io::Table& train, const io::Table* valid, const BoostParams& params,
                          const RoundCallback& on_round = {}, const CheckpointHooks& checkpoints = {});

}  // namespace rotor::trees
