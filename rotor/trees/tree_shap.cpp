#include "rotor/trees/tree_shap.h"

#include <cmath>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"

namespace rotor::trees {

namespace {

// One element of the decision path: the feature split on, the fraction of background rows
// (zero_fraction) and of "this row" (one_fraction) that follow the path, and the permutation weight.
struct PathElement {
  int feature = -1;
  double zero_fraction = 0, one_fraction = 0, pweight = 0;
};

void extend_path(PathElement* path, int depth, double zero_fraction, double one_fraction, int feature) {
  path[depth] = {feature, zero_fraction, one_fraction, depth == 0 ? 1.0 : 0.0};
  for (int i = depth - 1; i >= 0; --i) {
    path[i + 1].pweight += one_fraction * path[i].pweight * (i + 1) / static_cast<double>(depth + 1);
    path[i].pweight = zero_fraction * path[i].pweight * (depth - i) / static_cast<double>(depth + 1);
  }
}

void unwind_path(PathElement* path, int depth, int index) {
  const double one = path[index].one_fraction, zero = path[index].zero_fraction;
  double next_one = path[depth].pweight;
  for (int i = depth - 1; i >= 0; --i) {
    if (one != 0) {
      const double tmp = path[i].pweight;
      path[i].pweight = next_one * (depth + 1) / ((i + 1) * one);
      next_one = tmp - path[i].pweight * zero * (depth - i) / static_cast<double>(depth + 1);
    } else {
      path[i].pweight = path[i].pweight * (depth + 1) / (zero * (depth - i));
    }
  }
  for (int i = index; i < depth; ++i) {
    path[i].feature = path[i + 1].feature;
    path[i].zero_fraction = path[i + 1].zero_fraction;
    path[i].one_fraction = path[i + 1].one_fraction;
  }
}

// The total permutation weight the path would have without element `index`.
double unwound_path_sum(const PathElement* path, int depth, int index) {
  const double one = path[index].one_fraction, zero = path[index].zero_fraction;
  double next_one = path[depth].pweight, total = 0;
  for (int i = depth - 1; i >= 0; --i) {
    if (one != 0) {
      const double tmp = next_one * (depth + 1) / ((i + 1) * one);
      total += tmp;
      next_one = path[i].pweight - tmp * zero * ((depth - i) / static_cast<double>(depth + 1));
    } else if (zero != 0) {
      total += (path[i].pweight / zero) / ((depth - i) / static_cast<double>(depth + 1));
    }
  }
  return total;
}

class ShapRecursion {
 public:
  ShapRecursion(const Tree& tree, const float* x, double* phi) : tree_(tree), x_(x), phi_(phi) {
    paths_.resize(static_cast<size_t>((tree.depth() + 2) * (tree.depth() + 3)));
  }
  void run() { recurse(0, paths_.data(), 0, 1.0, 1.0, -1); }

 private:
  void recurse(int node, PathElement* parent_path, int depth, double zero_fraction, double one_fraction, int feature) {
    // Each level works on its own copy of the path, right after the parent's.
    PathElement* path = parent_path + depth;
    if (depth > 0) std::copy(parent_path, parent_path + depth, path);
    extend_path(path, depth, zero_fraction, one_fraction, feature);
    const TreeNode& n = tree_.nodes[node];
    if (n.is_leaf()) {
      for (int i = 1; i <= depth; ++i) {
        const double w = unwound_path_sum(path, depth, i);
        phi_[path[i].feature] += w * (path[i].one_fraction - path[i].zero_fraction) * n.value;
      }
      return;
    }
    const float v = x_[n.feature];
    const int hot = std::isnan(v) ? (n.default_left ? n.left : n.right) : (v < n.threshold ? n.left : n.right);
    const int cold = hot == n.left ? n.right : n.left;
    const double w = n.cover;
    const double hot_zero = tree_.nodes[hot].cover / w, cold_zero = tree_.nodes[cold].cover / w;
    double incoming_zero = 1.0, incoming_one = 1.0;
    int index = 0;
    for (; index <= depth; ++index)
      if (path[index].feature == n.feature) break;
    if (index != depth + 1) {  // the feature was split on above: undo that split first
      incoming_zero = path[index].zero_fraction;
      incoming_one = path[index].one_fraction;
      unwind_path(path, depth, index);
      --depth;
    }
    recurse(hot, path, depth + 1, hot_zero * incoming_zero, incoming_one, n.feature);
    recurse(cold, path, depth + 1, cold_zero * incoming_zero, 0.0, n.feature);
  }

  const Tree& tree_;
  const float* x_;
  double* phi_;
  std::vector<PathElement> paths_;
};

// Cover-weighted mean leaf value of the subtree at `node`: the tree's expected value.
double mean_value(const Tree& t, int node) {
  const TreeNode& n = t.nodes[node];
  if (n.is_leaf()) return n.value;
  const double cl = t.nodes[n.left].cover, cr = t.nodes[n.right].cover;
  return (cl * mean_value(t, n.left) + cr * mean_value(t, n.right)) / n.cover;
}

}  // namespace

std::vector<float> tree_shap(const BoostModel& model, const float* values, int64_t rows) {
  const int K = model.num_outputs();
  const int F = model.num_feature;
  for (size_t t = 0; t < model.trees.size(); ++t)
    for (const TreeNode& n : model.trees[t].nodes)
      ROTOR_CHECK(n.is_leaf() || n.cover > 0, "explain: tree ", t, " has a node without cover (needed by TreeSHAP)");
  std::vector<double> expected(model.trees.size());
  for (size_t t = 0; t < model.trees.size(); ++t) expected[t] = mean_value(model.trees[t], 0);
  std::vector<float> out(static_cast<size_t>(rows * K * (F + 1)));
#pragma omp parallel for schedule(dynamic, 16) if (rows * static_cast<int64_t>(model.trees.size()) > 4096)
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> phi(static_cast<size_t>(K * (F + 1)), 0.0);
    for (int k = 0; k < K; ++k) phi[k * (F + 1) + F] = model.base_margin;
    for (size_t t = 0; t < model.trees.size(); ++t) {
      double* p = phi.data() + model.tree_class[t] * (F + 1);
      ShapRecursion(model.trees[t], values + r * F, p).run();
      p[F] += expected[t];
    }
    for (size_t i = 0; i < phi.size(); ++i) out[r * K * (F + 1) + i] = static_cast<float>(phi[i]);
  }
  return out;
}

std::vector<double> feature_importance(const BoostModel& model, const std::string& type) {
  const int F = model.num_feature;
  std::vector<double> weight(F, 0.0), gain(F, 0.0), cover(F, 0.0);
  for (const Tree& t : model.trees)
    for (const TreeNode& n : t.nodes) {
      if (n.is_leaf()) continue;
      weight[n.feature] += 1;
      gain[n.feature] += n.gain;
      cover[n.feature] += n.cover;
    }
  std::vector<double> out(F, 0.0);
  for (int f = 0; f < F; ++f) {
    if (type == "weight") out[f] = weight[f];
    else if (type == "gain") out[f] = weight[f] > 0 ? gain[f] / weight[f] : 0;
    else if (type == "cover") out[f] = weight[f] > 0 ? cover[f] / weight[f] : 0;
    else if (type == "total_gain") out[f] = gain[f];
    else if (type == "total_cover") out[f] = cover[f];
    else throw Error(cat("importance type '", type, "' is not weight, gain, cover, total_gain or total_cover"));
  }
  return out;
}

}  // namespace rotor::trees
