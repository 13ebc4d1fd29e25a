#include "rotor/trees/hist_tree_builder.h"

#include <algorithm>
#include <deque>
#include <queue>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"

namespace rotor::trees {

namespace {
constexpr double kRtEps = 1e-6;  // XGBoost's smallest loss change worth a split

// A node waiting to be split: its place in the tree, its rows, histogram and best split.
struct OpenNode {
  int id;
  int depth;
  int hist_slot;
  GradStats sum;
  SplitCandidate split;
};
}  // namespace

SplitCandidate find_best_split(const GradStats* hist, const GradStats& total, const std::vector<int>& features,
                               const BinCuts& cuts, const SplitPenalty& penalty) {
  SplitCandidate best;
  const double parent_gain = penalty.gain(total.g, total.h);
  const double mcw = penalty.min_child_weight;
  auto consider = [&](const GradStats& left, const GradStats& right, int f, int b, bool default_left) {
    if (left.h < mcw || right.h < mcw) return;
    const double chg = penalty.gain(left.g, left.h) + penalty.gain(right.g, right.h) - parent_gain;
    if (chg > best.loss_chg) best = {chg, f, b, default_left, left, right};
  };
  for (int f : features) {
    const GradStats* h = hist + static_cast<size_t>(f) * kBinStride;
    const int nb = cuts.num_bins(f);
    const GradStats missing = h[kMissingBin];
    // Missing values right: left = bins 0..b.
    GradStats left;
    for (int b = 0; b < nb; ++b) {
      left += h[b];
      consider(left, total - left, f, b, false);
    }
    // Missing values left: right = bins b+1..nb-1, left = the rest (including missing).
    if (missing.h != 0.0 || missing.g != 0.0) {
      GradStats right;
      for (int b = nb - 1; b >= 0; --b) {
        right += h[b];
        consider(total - right, right, f, b - 1, true);
      }
    }
  }
  return best;
}

std::vector<int> sample_features(const std::vector<int>& features, double fraction, Rng& rng) {
  if (fraction >= 1.0) return features;
  const size_t n = features.size();
  const size_t k = std::max<size_t>(1, static_cast<size_t>(fraction * static_cast<double>(n)));
  std::vector<int> pool = features;
  for (size_t i = 0; i < k; ++i) std::swap(pool[i], pool[i + rng.uniform_int(n - i)]);
  pool.resize(k);
  std::sort(pool.begin(), pool.end());
  return pool;
}

HistTreeBuilder::HistTreeBuilder(const BinnedMatrix& X, const BinCuts& cuts)
    : X_(X), cuts_(cuts), hist_builder_(X.cols) {
  ROTOR_CHECK(X.cols == cuts.num_features(), "tree builder: data has ", X.cols, " features, cuts have ",
              cuts.num_features());
}

int HistTreeBuilder::acquire_histogram() {
  if (!free_slots_.empty()) {
    const int slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  pool_.emplace_back(hist_builder_.size());
  return static_cast<int>(pool_.size()) - 1;
}

// Stable partition of rows_[begin, end): rows going left first. Returns the first right position.
int64_t HistTreeBuilder::partition(int64_t begin, int64_t end, int feature, int bin, bool default_left) {
  const int F = X_.cols;
  const uint8_t* bins = X_.bins.data() + feature;
  uint32_t* rows = rows_.data();
  int64_t out_left = begin, out_right = 0;
  if (scratch_.size() < static_cast<size_t>(end - begin)) scratch_.resize(static_cast<size_t>(end - begin));
  for (int64_t i = begin; i < end; ++i) {
    const uint32_t r = rows[i];
    const int b = bins[static_cast<int64_t>(r) * F];
    const bool go_left = b == kMissingBin ? default_left : b <= bin;
    if (go_left) rows[out_left++] = r;
    else scratch_[out_right++] = r;
  }
  std::copy(scratch_.begin(), scratch_.begin() + out_right, rows + out_left);
  return out_left;
}

Tree HistTreeBuilder::build(const GradPair* gpair, const std::vector<uint32_t>& rows, const std::vector<int>& features,
                            const TreeParams& params, Rng& rng) {
  ROTOR_CHECK(params.max_depth > 0 || params.max_leaves > 0, "tree: max_depth 0 (unlimited) needs max_leaves > 0");
  rows_ = rows;
  begin_.assign(1, 0);
  end_.assign(1, static_cast<int64_t>(rows_.size()));
  free_slots_.clear();
  for (int i = 0; i < static_cast<int>(pool_.size()); ++i) free_slots_.push_back(i);

  Tree tree;
  tree.nodes.emplace_back();
  const SplitPenalty& pen = params.penalty;
  auto can_grow_below = [&](int depth) { return params.max_depth <= 0 || depth < params.max_depth; };

  // Per-level feature samples (colsample_bylevel), drawn when a level is first reached.
  std::vector<std::vector<int>> level_features;
  auto features_for = [&](int depth) {
    while (static_cast<int>(level_features.size()) <= depth)
      level_features.push_back(sample_features(features, params.colsample_bylevel, rng));
    return sample_features(level_features[depth], params.colsample_bynode, rng);
  };
  auto evaluate = [&](OpenNode& node) {
    node.split = find_best_split(histogram(node.hist_slot), node.sum, features_for(node.depth), cuts_, pen);
  };
  auto set_node_value = [&](int id, const GradStats& sum) {
    tree.nodes[id].value = static_cast<float>(pen.weight(sum.g, sum.h) * params.eta);
    tree.nodes[id].cover = static_cast<float>(sum.h);
  };

  OpenNode root{0, 0, acquire_histogram(), {}, {}};
  hist_builder_.build(X_, gpair, rows_.data(), static_cast<int64_t>(rows_.size()), histogram(root.hist_slot));
  {
    const GradStats* h = histogram(root.hist_slot);  // feature 0's bins cover every row once
    for (int b = 0; b < kBinStride; ++b) root.sum += h[b];
  }
  set_node_value(0, root.sum);

  auto worse = [](const OpenNode& a, const OpenNode& b) {  // priority for lossguide
    if (a.split.loss_chg != b.split.loss_chg) return a.split.loss_chg < b.split.loss_chg;
    return a.id > b.id;
  };
  std::deque<OpenNode> fifo;
  std::priority_queue<OpenNode, std::vector<OpenNode>, decltype(worse)> heap(worse);
  auto push = [&](OpenNode n) {
    if (params.lossguide) heap.push(std::move(n));
    else fifo.push_back(std::move(n));
  };
  auto pop = [&] {
    OpenNode n;
    if (params.lossguide) {
      n = heap.top();
      heap.pop();
    } else {
      n = fifo.front();
      fifo.pop_front();
    }
    return n;
  };
  auto empty = [&] { return params.lossguide ? heap.empty() : fifo.empty(); };

  if (can_grow_below(0)) {
    evaluate(root);
    push(root);
  } else {
    release_histogram(root.hist_slot);
  }
  int num_leaves = 1;
  while (!empty()) {
    OpenNode node = pop();
    const SplitCandidate& s = node.split;
    const bool stop = s.feature < 0 || s.loss_chg <= kRtEps || s.loss_chg < params.gamma || s.left.h == 0.0 ||
                      s.right.h == 0.0 || (params.max_leaves > 0 && num_leaves >= params.max_leaves);
    if (stop) {
      release_histogram(node.hist_slot);
      continue;
    }
    // Split: children are appended as a pair.
    const int left_id = static_cast<int>(tree.nodes.size()), right_id = left_id + 1;
    tree.nodes.emplace_back();
    tree.nodes.emplace_back();
    TreeNode& tn = tree.nodes[node.id];
    tn.left = left_id;
    tn.right = right_id;
    tn.feature = s.feature;
    tn.split_bin = static_cast<int16_t>(s.bin);
    tn.threshold = cuts_.threshold(s.feature, s.bin);
    tn.default_left = s.default_left;
    tn.gain = static_cast<float>(s.loss_chg);
    set_node_value(left_id, s.left);
    set_node_value(right_id, s.right);
    ++num_leaves;

    const int64_t b = begin_[node.id], e = end_[node.id];
    const int64_t mid = partition(b, e, s.feature, s.bin, s.default_left);
    begin_.resize(tree.nodes.size());
    end_.resize(tree.nodes.size());
    begin_[left_id] = b;
    end_[left_id] = mid;
    begin_[right_id] = mid;
    end_[right_id] = e;

    const int child_depth = node.depth + 1;
    if (!can_grow_below(child_depth)) {
      release_histogram(node.hist_slot);
      continue;
    }
    // Smaller child from its rows, the larger by subtraction (reusing the parent's slot).
    const bool left_smaller = (mid - b) <= (e - mid);
    const int small_id = left_smaller ? left_id : right_id, large_id = left_smaller ? right_id : left_id;
    const int small_slot = acquire_histogram();
    hist_builder_.build(X_, gpair, rows_.data() + begin_[small_id], end_[small_id] - begin_[small_id],
                        histogram(small_slot));
    hist_builder_.subtract(histogram(node.hist_slot), histogram(small_slot), histogram(node.hist_slot));
    const int large_slot = node.hist_slot;
    OpenNode left{left_id, child_depth, left_smaller ? small_slot : large_slot, s.left, {}};
    OpenNode right{right_id, child_depth, left_smaller ? large_slot : small_slot, s.right, {}};
    (void)large_id;
    evaluate(left);
    evaluate(right);
    push(std::move(left));
    push(std::move(right));
  }
  return tree;
}

}  // namespace rotor::trees
