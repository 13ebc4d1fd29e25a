#include "rotor/trees/boost_model.h"

#include <algorithm>
#include <cmath>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/trees/objective.h"

namespace rotor::trees {

namespace {

// A compact node for prediction: 16 bytes, default direction folded into the feature word. A leaf
// points to itself (left = right = its own index) and keeps its value in `threshold_or_value`, so a
// row can take a fixed number of steps (the tree's depth) without testing for leaves.
struct PredictNode {
  float threshold_or_value;
  uint32_t feature_flags;  // feature | kDefaultLeft
  int32_t left, right;
};
constexpr uint32_t kDefaultLeft = 1u << 31;

struct FlatTree {
  std::vector<PredictNode> nodes;
  int depth = 0;
  int output = 0;
};

FlatTree flatten(const Tree& t, int output) {
  FlatTree out;
  out.nodes.resize(t.nodes.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const TreeNode& n = t.nodes[i];
    const int32_t self = static_cast<int32_t>(i);
    if (n.is_leaf()) out.nodes[i] = {n.value, 0u, self, self};
    else out.nodes[i] = {n.threshold, static_cast<uint32_t>(n.feature) | (n.default_left ? kDefaultLeft : 0u), n.left, n.right};
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
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  const int64_t work = rows * static_cast<int64_t>(trees.size());
#pragma omp parallel for schedule(dynamic, 4) if (work > kParallelThreshold)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t r0 = blk * kBlock, r1 = std::min(rows, r0 + kBlock);
    const int count = static_cast<int>(r1 - r0);
    const float* x0 = values + r0 * F;
    int32_t pos[kBlock];
    for (const FlatTree& tree : flat) {
      const PredictNode* nodes = tree.nodes.data();
      for (int i = 0; i < count; ++i) pos[i] = 0;
      for (int level = 0; level < tree.depth; ++level) {
        for (int i = 0; i < count; ++i) {
          const PredictNode& n = nodes[pos[i]];
          const float v = x0[i * F + (n.feature_flags & ~kDefaultLeft)];
          const bool go_left = (v != v) ? (n.feature_flags & kDefaultLeft) != 0 : v < n.threshold_or_value;
          pos[i] = go_left ? n.left : n.right;
        }
      }
      float* m = margins.data() + r0 * K + tree.output;
      for (int i = 0; i < count; ++i) m[i * K] += nodes[pos[i]].threshold_or_value;
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
