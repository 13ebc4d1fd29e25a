#include "rotor/trees/hist_tree_builder.h"

#include <algorithm>
#include <queue>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/dist/comm.h"

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
                               const BinCuts& cuts, const SplitPenalty& penalty, const MonotoneBounds* mono) {
  SplitCandidate best;
  // With monotone constraints, gains use the bounded weights: -(2 G w + (H + lambda) w^2).
  auto gain_given_weight = [&](double g, double h) {
    if (h <= 0) return 0.0;
    const double w = mono->clamp(penalty.weight(g, h));
    return -(2.0 * g * w + (h + penalty.lambda) * w * w);
  };
  const double parent_gain = mono ? gain_given_weight(total.g, total.h) : penalty.gain(total.g, total.h);
  const double mcw = penalty.min_child_weight;
  // Candidate sums for one feature: [0, nb) per direction.
  alignas(64) double lg[kBinStride], lh[kBinStride], rg[kBinStride], rh[kBinStride];
  alignas(64) double lgain[kBinStride], rgain[kBinStride];
  // Picks the first candidate (in scan order) with the largest loss change, as XGBoost does.
  auto pick = [&](int n, int f, bool default_left, auto bin_of_candidate) {
    const int direction = mono ? (*mono->constraint)[f] : 0;
    if (mono) {
      for (int i = 0; i < n; ++i) {
        lgain[i] = gain_given_weight(lg[i], lh[i]);
        rgain[i] = gain_given_weight(rg[i], rh[i]);
        if (direction == 0) continue;
        const double wl = mono->clamp(penalty.weight(lg[i], lh[i])), wr = mono->clamp(penalty.weight(rg[i], rh[i]));
        if ((direction > 0 && wl > wr) || (direction < 0 && wl < wr)) lgain[i] = -1e300;  // order violated
      }
    } else {
      gains(lg, lh, n, penalty, lgain);
      gains(rg, rh, n, penalty, rgain);
    }
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

// Stable partitions: each node's range is cut into fixed chunks; the chunks count their left rows,
// prefix sums give every chunk its output offsets, and the rows are scattered through scratch_ and
// copied back. The result does not depend on the number of threads.
void HistTreeBuilder::partition_many(std::vector<PartitionJob>& jobs) {
  constexpr int64_t kChunk = 16384;
  struct Task {
    int64_t job, begin, end;
    int64_t left = 0, left_out = 0, right_out = 0;
  };
  std::vector<Task> tasks;
  int64_t total = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    total += jobs[j].end - jobs[j].begin;
    for (int64_t b = jobs[j].begin; b < jobs[j].end; b += kChunk)
      tasks.push_back({static_cast<int64_t>(j), b, std::min(jobs[j].end, b + kChunk)});
  }
  if (scratch_.size() < rows_.size()) scratch_.resize(rows_.size());
  uint32_t* rows = rows_.data();
  uint32_t* scratch = scratch_.data();
  const int64_t num_tasks = static_cast<int64_t>(tasks.size());
  auto column_of = [&](const PartitionJob& job) { return columns_.data() + static_cast<size_t>(job.feature) * X_.rows; };
#pragma omp parallel if (num_tasks > 2 && total > kParallelThreshold)
  {
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < num_tasks; ++t) {
      Task& task = tasks[t];
      const PartitionJob& job = jobs[task.job];
      const uint8_t* column = column_of(job);
      const int bin = job.bin;
      const bool dl = job.default_left;
      int64_t n = 0;
      for (int64_t i = task.begin; i < task.end; ++i) {
        const int b = column[rows[i]];
        n += b == kMissingBin ? dl : b <= bin;
      }
      task.left = n;
    }
#pragma omp single
    {
      size_t t = 0;
      for (PartitionJob& job : jobs) {
        int64_t left_total = 0;
        const size_t first = t;
        for (; t < tasks.size() && tasks[t].job == &job - jobs.data(); ++t) left_total += tasks[t].left;
        job.mid = job.begin + left_total;
        int64_t l = job.begin, r = job.mid;
        for (size_t u = first; u < t; ++u) {
          tasks[u].left_out = l;
          tasks[u].right_out = r;
          l += tasks[u].left;
          r += (tasks[u].end - tasks[u].begin) - tasks[u].left;
        }
      }
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < num_tasks; ++t) {
      const Task& task = tasks[t];
      const PartitionJob& job = jobs[task.job];
      const uint8_t* column = column_of(job);
      const int bin = job.bin;
      const bool dl = job.default_left;
      int64_t l = task.left_out, r = task.right_out;
      for (int64_t i = task.begin; i < task.end; ++i) {
        const uint32_t row = rows[i];
        const int b = column[row];
        const bool left = b == kMissingBin ? dl : b <= bin;
        if (left) scratch[l++] = row;
        else scratch[r++] = row;
      }
    }
#pragma omp for schedule(static)
    for (int64_t t = 0; t < num_tasks; ++t)
      std::copy(scratch + tasks[t].begin, scratch + tasks[t].end, rows + tasks[t].begin);
  }
}

Tree HistTreeBuilder::build(const GradPair* gpair, const std::vector<uint32_t>& rows, const std::vector<int>& features,
                            const TreeParams& params, Rng& rng) {
  ROTOR_CHECK(params.max_depth > 0 || params.max_leaves > 0, "tree: max_depth 0 (unlimited) needs max_leaves > 0");
  rows_ = rows;
  begin_.assign(1, 0);
  end_.assign(1, static_cast<int64_t>(rows_.size()));
  free_slots_.clear();
  for (int i = static_cast<int>(pool_.size()) - 1; i >= 0; --i) free_slots_.push_back(i);

  Tree tree;
  tree.nodes.emplace_back();
  const SplitPenalty& pen = params.penalty;
  const bool constrained = std::any_of(params.monotone.begin(), params.monotone.end(), [](int c) { return c != 0; });
  if (constrained) {
    ROTOR_CHECK(static_cast<int>(params.monotone.size()) == X_.cols, "monotone constraints: ", params.monotone.size(),
                " given for ", X_.cols, " features");
    bounds_.assign(1, MonotoneBounds{&params.monotone});
  }
  auto can_grow_below = [&](int depth) { return params.max_depth <= 0 || depth < params.max_depth; };

  // Per-level feature samples (colsample_bylevel), drawn when a level is first reached.
  std::vector<std::vector<int>> level_features;
  auto features_for = [&](int depth) {
    while (static_cast<int>(level_features.size()) <= depth)
      level_features.push_back(sample_features(features, params.colsample_bylevel, rng));
    return sample_features(level_features[depth], params.colsample_bynode, rng);
  };
  // Best splits of several nodes, in parallel over nodes (feature samples drawn first, in order).
  auto evaluate = [&](std::vector<OpenNode>& nodes) {
    std::vector<std::vector<int>> feats;
    for (const OpenNode& node : nodes) feats.push_back(features_for(node.depth));
    const int64_t count = static_cast<int64_t>(nodes.size());
    // A node's scan is ~features * 512 candidate evaluations: only a large level is worth the threads.
    const int64_t work = count * static_cast<int64_t>(features.size()) * 2 * kBinStride;
#pragma omp parallel for schedule(dynamic, 1) if (count > 1 && work > (int64_t{1} << 20))
    for (int64_t i = 0; i < count; ++i)
      nodes[i].split = find_best_split(histogram(nodes[i].hist_slot), nodes[i].sum, feats[i], cuts_, pen,
                                       constrained ? &bounds_[nodes[i].id] : nullptr);
  };
  auto set_node_value = [&](int id, const GradStats& sum) {
    const double w = constrained ? bounds_[id].clamp(pen.weight(sum.g, sum.h)) : pen.weight(sum.g, sum.h);
    tree.nodes[id].value = static_cast<float>(w * params.eta);
    tree.nodes[id].cover = static_cast<float>(sum.h);
  };

  OpenNode root{0, 0, acquire_histogram(), {}, {}};
  hist_builder_.build(X_, gpair, rows_.data(), static_cast<int64_t>(rows_.size()), histogram(root.hist_slot));
  auto sum_over_ranks = [&](int slot) {
    if (distributed_) dist::allreduce_sum(&histogram(slot)->g, 2 * hist_builder_.size());
  };
  sum_over_ranks(root.hist_slot);
  {
    const GradStats* h = histogram(root.hist_slot);  // feature 0's bins cover every row once
    for (int b = 0; b < kBinStride; ++b) root.sum += h[b];
  }
  set_node_value(0, root.sum);

  auto worse = [](const OpenNode& a, const OpenNode& b) {  // priority for lossguide
    if (a.split.loss_chg != b.split.loss_chg) return a.split.loss_chg < b.split.loss_chg;
    return a.id > b.id;
  };
  std::vector<OpenNode> level;  // depthwise: the open nodes of the current level, in id order
  std::priority_queue<OpenNode, std::vector<OpenNode>, decltype(worse)> heap(worse);
  if (can_grow_below(0)) {
    std::vector<OpenNode> first{root};
    evaluate(first);
    if (params.lossguide) heap.push(first[0]);
    else level = first;
  } else {
    release_histogram(root.hist_slot);
  }
  int num_leaves = 1;
  std::vector<OpenNode> batch, children;
  std::vector<PartitionJob> parts;
  std::vector<HistogramJob> hist_jobs;
  std::vector<std::pair<int, int>> subtractions;  // (parent slot = larger child's slot, smaller child's slot)
  while (true) {
    // The nodes to split now: the whole level (depthwise) or the best open node (lossguide).
    std::vector<OpenNode> candidates;
    if (params.lossguide) {
      if (heap.empty()) break;
      candidates.push_back(heap.top());
      heap.pop();
    } else {
      if (level.empty()) break;
      candidates.swap(level);
    }
    batch.clear();
    for (OpenNode& node : candidates) {
      const SplitCandidate& s = node.split;
      const bool stop = s.feature < 0 || s.loss_chg <= kRtEps || s.loss_chg < params.gamma || s.left.h == 0.0 ||
                        s.right.h == 0.0 || (params.max_leaves > 0 && num_leaves >= params.max_leaves);
      if (stop) {
        release_histogram(node.hist_slot);
        continue;
      }
      ++num_leaves;
      batch.push_back(node);
    }
    if (batch.empty()) continue;
    // Split: children are appended as pairs, in the order of their parents.
    parts.clear();
    for (const OpenNode& node : batch) {
      const SplitCandidate& s = node.split;
      const int left_id = static_cast<int>(tree.nodes.size());
      tree.nodes.emplace_back();
      tree.nodes.emplace_back();
      TreeNode& tn = tree.nodes[node.id];
      tn.left = left_id;
      tn.right = left_id + 1;
      tn.feature = s.feature;
      tn.split_bin = static_cast<int16_t>(s.bin);
      tn.threshold = cuts_.threshold(s.feature, s.bin);
      tn.default_left = s.default_left;
      tn.gain = static_cast<float>(s.loss_chg);
      if (constrained) {  // children inherit the bounds, split at the midpoint of their weights
        const MonotoneBounds parent = bounds_[node.id];
        const double wl = parent.clamp(pen.weight(s.left.g, s.left.h));
        const double wr = parent.clamp(pen.weight(s.right.g, s.right.h));
        const double mid = (wl + wr) / 2;
        MonotoneBounds lb = parent, rb = parent;
        const int c = params.monotone[s.feature];
        if (c < 0) lb.lower = rb.upper = mid;
        if (c > 0) lb.upper = rb.lower = mid;
        bounds_.resize(tree.nodes.size());
        bounds_[left_id] = lb;
        bounds_[left_id + 1] = rb;
      }
      set_node_value(left_id, s.left);
      set_node_value(left_id + 1, s.right);
      parts.push_back({begin_[node.id], end_[node.id], s.feature, s.bin, s.default_left});
    }
    partition_many(parts);
    begin_.resize(tree.nodes.size());
    end_.resize(tree.nodes.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      const int left_id = tree.nodes[batch[i].id].left;
      begin_[left_id] = parts[i].begin;
      end_[left_id] = parts[i].mid;
      begin_[left_id + 1] = parts[i].mid;
      end_[left_id + 1] = parts[i].end;
    }
    // Children histograms: the smaller child from its rows, the larger as parent minus smaller
    // (in the parent's slot).
    children.clear();
    hist_jobs.clear();
    subtractions.clear();
    // Child sizes: over all ranks when distributed, so that every rank picks the same smaller child.
    std::vector<int64_t> child_rows;
    for (const OpenNode& node : batch) {
      const int left_id = tree.nodes[node.id].left;
      child_rows.push_back(end_[left_id] - begin_[left_id]);
      child_rows.push_back(end_[left_id + 1] - begin_[left_id + 1]);
    }
    if (distributed_) dist::allreduce_sum(child_rows.data(), child_rows.size());
    for (size_t bi = 0; bi < batch.size(); ++bi) {
      const OpenNode& node = batch[bi];
      const int child_depth = node.depth + 1;
      if (!can_grow_below(child_depth)) {
        release_histogram(node.hist_slot);
        continue;
      }
      const int left_id = tree.nodes[node.id].left, right_id = left_id + 1;
      const bool left_smaller = child_rows[2 * bi] <= child_rows[2 * bi + 1];
      const int small_id = left_smaller ? left_id : right_id;
      const int small_slot = acquire_histogram();
      hist_jobs.push_back({rows_.data() + begin_[small_id], end_[small_id] - begin_[small_id], histogram(small_slot)});
      subtractions.emplace_back(node.hist_slot, small_slot);
      children.push_back({left_id, child_depth, left_smaller ? small_slot : node.hist_slot, node.split.left, {}});
      children.push_back({right_id, child_depth, left_smaller ? node.hist_slot : small_slot, node.split.right, {}});
    }
    if (children.empty()) continue;
    hist_builder_.build_many(X_, gpair, hist_jobs);
    if (distributed_) {  // the level's smaller-child histograms summed over the ranks in one call
      const size_t hs = 2 * hist_builder_.size();
      level_sums_.resize(hs * subtractions.size());
      for (size_t i = 0; i < subtractions.size(); ++i)
        std::copy_n(&histogram(subtractions[i].second)->g, hs, level_sums_.data() + i * hs);
      dist::allreduce_sum(level_sums_.data(), level_sums_.size());
      for (size_t i = 0; i < subtractions.size(); ++i)
        std::copy_n(level_sums_.data() + i * hs, hs, &histogram(subtractions[i].second)->g);
    }
    const int64_t num_sub = static_cast<int64_t>(subtractions.size());
#pragma omp parallel for schedule(static) if (num_sub * static_cast<int64_t>(hist_builder_.size()) > (int64_t{1} << 20))
    for (int64_t i = 0; i < num_sub; ++i)
      hist_builder_.subtract(histogram(subtractions[i].first), histogram(subtractions[i].second),
                             histogram(subtractions[i].first));
    evaluate(children);
    for (OpenNode& child : children) {
      if (params.lossguide) heap.push(std::move(child));
      else level.push_back(std::move(child));
    }
  }
  return tree;
}

}  // namespace rotor::trees
