#include "rotor/trees/boost_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/trees/objective.h"

namespace rotor::trees {

namespace {

// A tree laid out for prediction: nodes renumbered breadth-first so that a node's children are
// adjacent (right = left + 1), in separate arrays (threshold, feature word, left child) that a
// vectorized loop can gather from. A leaf points to itself with threshold +inf and "missing goes
// left", so a row takes exactly `depth` steps without testing for leaves.
constexpr uint32_t kDefaultLeft = 1u << 31;

struct FlatTree {
  std::vector<float> threshold, value;
  std::vector<uint32_t> feature;  // feature | kDefaultLeft
  std::vector<int32_t> left;
  int depth = 0;
  int output = 0;
};

FlatTree flatten(const Tree& t, int output) {
  FlatTree out;
  const size_t n = t.nodes.size();
  out.threshold.resize(n);
  out.value.resize(n);
  out.feature.resize(n);
  out.left.resize(n);
  std::vector<int> order{0};  // old ids in breadth-first order; new id = position
  std::vector<int32_t> new_id(n, -1);
  new_id[0] = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const TreeNode& node = t.nodes[order[i]];
    if (node.is_leaf()) continue;
    new_id[node.left] = static_cast<int32_t>(order.size());
    order.push_back(node.left);
    new_id[node.right] = static_cast<int32_t>(order.size());
    order.push_back(node.right);
  }
  for (size_t i = 0; i < order.size(); ++i) {
    const TreeNode& node = t.nodes[order[i]];
    if (node.is_leaf()) {
      out.threshold[i] = std::numeric_limits<float>::infinity();
      out.feature[i] = kDefaultLeft;
      out.left[i] = static_cast<int32_t>(i);
      out.value[i] = node.value;
    } else {
      out.threshold[i] = node.threshold;
      out.feature[i] = static_cast<uint32_t>(node.feature) | (node.default_left ? kDefaultLeft : 0u);
      out.left[i] = new_id[node.left];
    }
  }
  out.depth = t.depth();
  out.output = output;
  return out;
}

}  // namespace

void BoostModel::check_table(const io::Table& table) const {
  ROTOR_CHECK(table.cols == num_feature, table.source, ": has ", table.cols, " features, the model expects ",
              num_feature);
}

std::vector<float> BoostModel::predict_margin(const float* values, int64_t rows) const {
  const int K = num_outputs();
  const int F = num_feature;
  std::vector<float> margins(static_cast<size_t>(rows * K), base_margin);
  std::vector<FlatTree> flat;
  flat.reserve(trees.size());
  for (size_t t = 0; t < trees.size(); ++t) flat.push_back(flatten(trees[t], tree_class[t]));
  // Rows go through each tree in blocks, all rows of a block one level at a time: the steps of
  // different rows are independent, so their memory latencies overlap.
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  const int64_t work = rows * static_cast<int64_t>(trees.size());
#pragma omp parallel for schedule(dynamic, 4) if (work > kParallelThreshold)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t r0 = blk * kBlock, r1 = std::min(rows, r0 + kBlock);
    const int count = static_cast<int>(r1 - r0);
    const float* x0 = values + r0 * F;
    int32_t pos[kBlock];
    for (const FlatTree& tree : flat) {
      const float* thr = tree.threshold.data();
      const uint32_t* feat = tree.feature.data();
      const int32_t* left = tree.left.data();
      for (int i = 0; i < count; ++i) pos[i] = 0;
      for (int level = 0; level < tree.depth; ++level) {
#pragma omp simd
        for (int i = 0; i < count; ++i) {
          const int32_t p = pos[i];
          const uint32_t ff = feat[p];
          const float v = x0[i * F + static_cast<int>(ff & ~kDefaultLeft)];
          // NaN compares false, so missing values go left only when the node says so.
          const bool go_left = (v < thr[p]) | ((v != v) & ((ff & kDefaultLeft) != 0));
          pos[i] = left[p] + (go_left ? 0 : 1);
        }
      }
      float* m = margins.data() + r0 * K + tree.output;
      for (int i = 0; i < count; ++i) m[i * K] += tree.value[pos[i]];
    }
  }
  return margins;
}

std::vector<float> BoostModel::predict(const float* values, int64_t rows) const {
  std::vector<float> out = predict_margin(values, rows);
  ObjectiveParams p;
  p.num_class = num_class;
  p.huber_slope = huber_slope;
  p.quantile_alpha = quantile_alpha;
  make_objective(objective, p)->transform(out.data(), rows);
  return out;
}

}  // namespace rotor::trees
