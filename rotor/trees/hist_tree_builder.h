#pragma once
// HistTreeBuilder: grows one regression tree on binned data from per-row gradient pairs, in the
// XGBoost "hist" formulation. Rows are kept grouped by node in one index array (each node owns a
// contiguous range); when a node splits, the histogram of the smaller child is built from its rows
// and the larger child's is the parent's minus it. Growth is depth-wise (level by level up to
// max_depth) or loss-guided (best loss change first, up to max_leaves).
#include <cstdint>
#include <vector>

#include "rotor/core/rng.h"
#include "rotor/trees/binned_matrix.h"
#include "rotor/trees/histogram.h"
#include "rotor/trees/split_gain.h"
#include "rotor/trees/tree.h"

namespace rotor::trees {

struct TreeParams {
  int max_depth = 6;        // 0 = unlimited (only with max_leaves / lossguide)
  int max_leaves = 0;       // 0 = unlimited
  bool lossguide = false;   // grow_policy: false = depthwise, true = lossguide
  SplitPenalty penalty;     // lambda, alpha, min_child_weight, max_delta_step
  double gamma = 0.0;       // minimum loss change to make a split
  double eta = 0.3;         // leaf values are scaled by this
  double colsample_bylevel = 1.0;
  double colsample_bynode = 1.0;
  // Monotone constraints per feature (+1 increasing, -1 decreasing, 0 none); empty = none. As in
  // XGBoost: a split must order its children's weights, and the children's weights are then bounded
  // by the midpoint, all the way down.
  std::vector<int> monotone;
};

// The weight interval of a node under monotone constraints.
struct MonotoneBounds {
  const std::vector<int>* constraint = nullptr;
  double lower = -1e300, upper = 1e300;
  double clamp(double w) const { return w < lower ? lower : (w > upper ? upper : w); }
};

// The best split found for a node.
struct SplitCandidate {
  double loss_chg = 0;
  int feature = -1;
  int bin = 0;             // left = bins <= bin (bin -1: only missing values go left)
  bool default_left = false;
  GradStats left, right;
};

// Scans a node's histogram for the best split over `features` (XGBoost's enumeration: missing
// values right, then, when the node has missing values, missing values left).
SplitCandidate find_best_split(const GradStats* hist, const GradStats& total, const std::vector<int>& features,
                               const BinCuts& cuts, const SplitPenalty& penalty,
                               const MonotoneBounds* monotone = nullptr);

// Samples max(1, floor(fraction * n)) of `features` (sorted); all when fraction >= 1.
std::vector<int> sample_features(const std::vector<int>& features, double fraction, Rng& rng);

class HistTreeBuilder {
 public:
  HistTreeBuilder(const BinnedMatrix& X, const BinCuts& cuts);

  // gpair: [X.rows] gradient pairs; rows: the training rows of this tree (e.g. a subsample);
  // features: the features this tree may use (colsample_bytree already applied).
  Tree build(const GradPair* gpair, const std::vector<uint32_t>& rows, const std::vector<int>& features,
             const TreeParams& params, Rng& rng);

  // Distributed (rotor/dist): X holds this rank's rows; histograms are summed over the ranks, so every
  // rank grows the same tree (the one of one process on all rows) and partitions its own rows.
  void set_distributed(bool on) { distributed_ = on; }

  // After build(): the rows that reached node `n` are partitioned_rows()[begin(n), end(n)).
  const std::vector<uint32_t>& partitioned_rows() const { return rows_; }
  int64_t node_begin(int n) const { return begin_[n]; }
  int64_t node_end(int n) const { return end_[n]; }

 private:
  // One node to split: its row range, and where its left children end up (filled by partition).
  struct PartitionJob {
    int64_t begin, end;
    int feature, bin;
    bool default_left;
    int64_t mid = 0;  // out: first row of the right child
  };
  // Stable partitions of several nodes in one parallel region.
  void partition_many(std::vector<PartitionJob>& jobs);
  int acquire_histogram();
  void release_histogram(int slot) { free_slots_.push_back(slot); }
  GradStats* histogram(int slot) { return pool_[slot].data(); }

  const BinnedMatrix& X_;
  const BinCuts& cuts_;
  HistogramBuilder hist_builder_;
  std::vector<uint8_t> columns_;  // [features, rows]: a column-major copy for partitioning
  std::vector<uint32_t> rows_, scratch_;
  std::vector<int64_t> begin_, end_;
  std::vector<MonotoneBounds> bounds_;  // per node, with monotone constraints
  std::vector<std::vector<GradStats>> pool_;
  std::vector<int> free_slots_;
  bool distributed_ = false;
  std::vector<double> level_sums_;  // distributed: one level's histograms packed for one allreduce
};

}  // namespace rotor::trees
