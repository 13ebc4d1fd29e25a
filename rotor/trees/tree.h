#pragma once
// Tree: one regression tree as a flat node array. An internal node sends a row left when its
// feature value is below `threshold` (or, during training, when its bin is <= split_bin), and sends
// missing values the learned default way. Leaves hold `value` (already scaled by the learning rate).
#include <cmath>
#include <cstdint>
#include <vector>

#include "rotor/trees/binned_matrix.h"

namespace rotor::trees {

struct TreeNode {
  int32_t left = -1;    // child indices; -1 for a leaf
  int32_t right = -1;
  int32_t feature = -1;
  float threshold = 0;  // x < threshold -> left
  int16_t split_bin = 0;  // training view: bin <= split_bin -> left (-1: only missing may go left)
  bool default_left = false;
  float value = 0;      // leaf value; for internal nodes the value it would have as a leaf
  float gain = 0;       // loss reduction of the split (0 for leaves)
  float cover = 0;      // sum of hessians of the rows that reached the node
  bool is_leaf() const { return left < 0; }
};

struct Tree {
  std::vector<TreeNode> nodes;  // nodes[0] is the root

  // Leaf index for a dense feature row (NaN = missing).
  int leaf_for(const float* x) const {
    int n = 0;
    while (!nodes[n].is_leaf()) {
      const TreeNode& node = nodes[n];
      const float v = x[node.feature];
      n = std::isnan(v) ? (node.default_left ? node.left : node.right) : (v < node.threshold ? node.left : node.right);
    }
    return n;
  }
  // Leaf index for a binned row (same cuts as training).
  int leaf_for_bins(const uint8_t* bins) const {
    int n = 0;
    while (!nodes[n].is_leaf()) {
      const TreeNode& node = nodes[n];
      const int b = bins[node.feature];
      n = b == kMissingBin ? (node.default_left ? node.left : node.right)
                           : (b <= node.split_bin ? node.left : node.right);
    }
    return n;
  }
  int depth() const;
  int num_leaves() const;
};

}  // namespace rotor::trees
