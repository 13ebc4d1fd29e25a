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

namespace {

// out[i] = penalty.gain(g[i], h[i]) for i < n; the common case (no L1, no max_delta_step) is a
// branch-free loop the compiler vectorizes.
void gains(const double* g, const double* h, int n, const SplitPenalty& p, double* out) {
  if (p.alpha == 0.0 && p.max_delta_step == 0.0) {
    const double mcw = p.min_child_weight, lambda = p.lambda;
#pragma omp simd
    for (int i = 0; i < n; ++i) {
      const double v = g[i] * g[i] / (h[i] + lambda);
      out[i] = (h[i] < mcw || h[i] <= 0.0) ? 0.0 : v;
    }
  } else {
    for (int i = 0; i < n; ++i) out[i] = p.gain(g[i], h[i]);
  }
}

}  // namespace

SplitCandidate find_best_split(const GradStats* hist, const GradStats& total, const std::vector<int>& features,
                               const BinCuts& cuts, const SplitPenalty& penalty) {
  SplitCandidate best;
  const double parent_gain = penalty.gain(total.g, total.h);
  const double mcw = penalty.min_child_weight;
  // Candidate sums for one feature: [0, nb) per direction.
  alignas(64) double lg[kBinStride], lh[kBinStride], rg[kBinStride], rh[kBinStride];
  alignas(64) double lgain[kBinStride], rgain[kBinStride];
  // Picks the first candidate (in scan order) with the largest loss change, as XGBoost does.
  auto pick = [&](int n, int f, bool default_left, auto bin_of_candidate) {
    gains(lg, lh, n, penalty, lgain);
    gains(rg, rh, n, penalty, rgain);
    for (int i = 0; i < n; ++i) {
      if (lh[i] < mcw || rh[i] < mcw) continue;
      const double chg = lgain[i] + rgain[i] - parent_gain;
      if (chg > best.loss_chg)
        best = {chg, f, bin_of_candidate(i), default_left, GradStats{lg[i], lh[i]}, GradStats{rg[i], rh[i]}};
    }
  };
  for (int f : features) {
    const GradStats* h = hist + static_cast<size_t>(f) * kBinStride;
    const int nb = cuts.num_bins(f);
    const GradStats missing = h[kMissingBin];
    // Missing values right: left = bins 0..b accumulated upwards, right = total - left.
    // (An empty bin repeats the previous candidate, which wins the tie: harmless.)
    int n = 0;
    int bin_at[kBinStride];
    GradStats acc;
    for (int b = 0; b < nb; ++b) {
      acc += h[b];
      lg[n] = acc.g;
      lh[n] = acc.h;
      rg[n] = total.g - acc.g;
      rh[n] = total.h - acc.h;
      bin_at[n++] = b;
    }
    pick(n, f, false, [&](int i) { return bin_at[i]; });
    // Missing values left: right = bins b..nb-1 accumulated downwards, left = total - right;
    // the split is "bin <= b-1" (b-1 = -1: only missing values go left).
    if (missing.h != 0.0 || missing.g != 0.0) {
      n = 0;
      acc = GradStats{};
      for (int b = nb - 1; b >= 0; --b) {
        acc += h[b];
        rg[n] = acc.g;
        rh[n] = acc.h;
        lg[n] = total.g - acc.g;
        lh[n] = total.h - acc.h;
        bin_at[n++] = b - 1;
      }
      pick(n, f, true, [&](int i) { return bin_at[i]; });
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
  // Partitioning reads one feature of many rows: a column-major copy keeps those reads dense.
  columns_.resize(X.bins.size());
  const int64_t n = X.rows;
  const int F = X.cols;
#pragma omp parallel for schedule(static) if (n * F > kParallelThreshold)
  for (int f = 0; f < F; ++f)
    for (int64_t r = 0; r < n; ++r) columns_[static_cast<size_t>(f) * n + r] = X.bins[static_cast<size_t>(r * F + f)];
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
// Large ranges run in fixed chunks: count per chunk, prefix sums, then scatter (same result on any
// number of threads).
int64_t HistTreeBuilder::partition(int64_t begin, int64_t end, int feature, int bin, bool default_left) {
  const uint8_t* column = columns_.data() + static_cast<size_t>(feature) * X_.rows;
  uint32_t* rows = rows_.data();
  const int64_t count = end - begin;
  if (scratch_.size() < static_cast<size_t>(count)) scratch_.resize(static_cast<size_t>(count));
  // A row goes left when its bin is <= bin, or it is missing and the default is left. With
  // kMissingBin = 255 > any split bin, "missing" maps to a lookup of one flag.
  auto goes_left = [=](uint32_t r) {
    const int b = column[r];
    return b == kMissingBin ? default_left : b <= bin;
  };
  constexpr int64_t kChunk = 16384;
  const int64_t chunks = (count + kChunk - 1) / kChunk;
  if (chunks <= 2 || num_threads() == 1) {
    int64_t out_left = begin, out_right = 0;
    uint32_t* right = scratch_.data();
    for (int64_t i = begin; i < end; ++i) {
      const uint32_t r = rows[i];
      const bool left = goes_left(r);
      rows[out_left] = r;  // out_left <= i: never overwrites an unread row
      right[out_right] = r;
      out_left += left;
      out_right += !left;
    }
    std::copy(right, right + out_right, rows + out_left);
    return out_left;
  }
  std::vector<int64_t> left_count(static_cast<size_t>(chunks) + 1, 0);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b0 = begin + c * kChunk, b1 = std::min(end, b0 + kChunk);
    int64_t n = 0;
    for (int64_t i = b0; i < b1; ++i) n += goes_left(rows[i]);
    left_count[c + 1] = n;
  }
  for (int64_t c = 0; c < chunks; ++c) left_count[c + 1] += left_count[c];
  const int64_t total_left = left_count[chunks];
  uint32_t* out = scratch_.data();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b0 = begin + c * kChunk, b1 = std::min(end, b0 + kChunk);
    int64_t l = left_count[c], r = total_left + (b0 - begin) - left_count[c];
    for (int64_t i = b0; i < b1; ++i) {
      const uint32_t row = rows[i];
      if (goes_left(row)) out[l++] = row;
      else out[r++] = row;
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b0 = c * kChunk, b1 = std::min(count, b0 + kChunk);
    std::copy(out + b0, out + b1, rows + begin + b0);
  }
  return begin + total_left;
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
