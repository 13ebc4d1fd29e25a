#include "rotor/trees/boost_model.h"

#include <algorithm>
#include <cmath>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/trees/objective.h"

namespace rotor::trees {

namespace {

// A compact node for prediction: 16 bytes, default direction folded into the feature word.
struct PredictNode {
  float threshold_or_value;
  uint32_t feature_flags;  // feature | kDefaultLeft
  int32_t left, right;     // left < 0: leaf
};
constexpr uint32_t kDefaultLeft = 1u << 31;

std::vector<PredictNode> flatten(const Tree& t) {
  std::vector<PredictNode> out(t.nodes.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const TreeNode& n = t.nodes[i];
    if (n.is_leaf()) out[i] = {n.value, 0u, -1, -1};
    else out[i] = {n.threshold, static_cast<uint32_t>(n.feature) | (n.default_left ? kDefaultLeft : 0u), n.left, n.right};
  }
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
  std::vector<std::vector<PredictNode>> flat;
  flat.reserve(trees.size());
  for (const Tree& t : trees) flat.push_back(flatten(t));
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  const int64_t work = rows * static_cast<int64_t>(trees.size());
#pragma omp parallel for schedule(dynamic, 4) if (work > kParallelThreshold)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t r0 = blk * kBlock, r1 = std::min(rows, r0 + kBlock);
    for (size_t t = 0; t < flat.size(); ++t) {
      const PredictNode* nodes = flat[t].data();
      const int k = tree_class[t];
      for (int64_t r = r0; r < r1; ++r) {
        const float* x = values + r * F;
        const PredictNode* n = nodes;
        while (n->left >= 0) {
          const float v = x[n->feature_flags & ~kDefaultLeft];
          const bool go_left = std::isnan(v) ? (n->feature_flags & kDefaultLeft) != 0 : v < n->threshold_or_value;
          n = nodes + (go_left ? n->left : n->right);
        }
        margins[static_cast<size_t>(r * K + k)] += n->threshold_or_value;
      }
    }
  }
  return margins;
}

std::vector<float> BoostModel::predict(const float* values, int64_t rows) const {
  std::vector<float> out = predict_margin(values, rows);
  ObjectiveParams p;
  p.num_class = num_class;
  p.huber_slope = huber_slope;
  make_objective(objective, p)->transform(out.data(), rows);
  return out;
}

}  // namespace rotor::trees
