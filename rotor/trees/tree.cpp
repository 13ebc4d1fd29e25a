#include "rotor/trees/tree.h"

#include <algorithm>
#include <utility>

namespace rotor::trees {

int Tree::depth() const {
  if (nodes.empty()) return 0;
  std::vector<std::pair<int, int>> stack{{0, 0}};
  int deepest = 0;
  while (!stack.empty()) {
    auto [n, d] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, d);
    if (!nodes[n].is_leaf()) {
      stack.push_back({nodes[n].left, d + 1});
      stack.push_back({nodes[n].right, d + 1});
    }
  }
  return deepest;
}

int Tree::num_leaves() const {
  return static_cast<int>(std::count_if(nodes.begin(), nodes.end(), [](const TreeNode& n) { return n.is_leaf(); }));
}

}  // namespace rotor::trees
