#include "rotor/trees/cart.h"

#include <algorithm>
#include <cstring>
#include <cmath>
#include <limits>
#include <numeric>

#include "rotor/core/error.h"

namespace rotor::trees {

namespace {

constexpr double kEpsilon = std::numeric_limits<double>::epsilon();
constexpr float kFeatureThreshold = 1e-7f;  // values closer than this are not split apart (scikit-learn)

// Sufficient statistics of a set of rows: class weights, or (w, sum wy, sum wy^2) for regression.
struct Stats {
  std::vector<double> v;
  double w = 0;
  explicit Stats(int k) : v(static_cast<size_t>(k), 0.0) {}
  void clear() {
    std::fill(v.begin(), v.end(), 0.0);
    w = 0;
  }
};

class Criteria {
 public:
  Criteria(Criterion c, int num_classes) : c_(c), k_(num_classes) {}
  int width() const { return c_ == Criterion::kSquaredError ? 2 : k_; }
  void add(Stats& s, float target, double w, int sign = 1) const {
    s.w += sign * w;
    if (c_ == Criterion::kSquaredError) {
      s.v[0] += sign * w * target;
      s.v[1] += sign * w * static_cast<double>(target) * target;
    } else {
      s.v[static_cast<size_t>(target)] += sign * w;
    }
  }
  double impurity(const Stats& s) const {
    if (s.w <= 0) return 0.0;
    if (c_ == Criterion::kSquaredError) {
      const double mean = s.v[0] / s.w;
      return s.v[1] / s.w - mean * mean;
    }
    double out = c_ == Criterion::kGini ? 1.0 : 0.0;
    for (double c : s.v) {
      if (c <= 0) continue;
      const double p = c / s.w;
      if (c_ == Criterion::kGini) out -= p * p;
      else out -= p * std::log2(p);
    }
    return out;
  }
  // proxy(left, node - left) without materializing the right side (same arithmetic).
  double proxy_split(const Stats& left, const Stats& node) const {
    const double rw = node.w - left.w;
    if (c_ == Criterion::kSquaredError) {
      const double r0 = node.v[0] - left.v[0];
      return left.v[0] * left.v[0] / left.w + r0 * r0 / rw;
    }
    double il = c_ == Criterion::kGini ? 1.0 : 0.0, ir = il;
    const size_t k = left.v.size();
    for (size_t i = 0; i < k; ++i) {
      const double cl = left.v[i], cr = node.v[i] - left.v[i];
      if (c_ == Criterion::kGini) {
        if (cl > 0) il -= (cl / left.w) * (cl / left.w);
        if (cr > 0) ir -= (cr / rw) * (cr / rw);
      } else {
        if (cl > 0) il -= (cl / left.w) * std::log2(cl / left.w);
        if (cr > 0) ir -= (cr / rw) * std::log2(cr / rw);
      }
    }
    if (left.w <= 0) il = 0;
    if (rw <= 0) ir = 0;
    return -rw * ir - left.w * il;
  }
  // A monotone proxy of the impurity decrease, as scikit-learn computes it.
  double proxy(const Stats& left, const Stats& right) const {
    if (c_ == Criterion::kSquaredError) return left.v[0] * left.v[0] / left.w + right.v[0] * right.v[0] / right.w;
    return -right.w * impurity(right) - left.w * impurity(left);
  }

 private:
  Criterion c_;
  int k_;
};

// Sorts (value, row) pairs by value: LSD radix sort on the float bits (3 passes of 11 bits) for
// large ranges, std::sort for small ones. Values are never NaN here.
void sort_by_value(std::vector<std::pair<float, uint32_t>>& v, std::vector<std::pair<float, uint32_t>>& tmp) {
  const size_t n = v.size();
  if (n < 2048) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return;
  }
  auto key = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  };
  tmp.resize(n);
  std::vector<std::pair<float, uint32_t>>* src = &v;
  std::vector<std::pair<float, uint32_t>>* dst = &tmp;
  for (int shift = 0; shift < 33; shift += 11) {
    size_t count[2049] = {0};
    for (const auto& e : *src) ++count[((key(e.first) >> shift) & 2047u) + 1];
    for (int b = 0; b < 2048; ++b) count[b + 1] += count[b];
    for (const auto& e : *src) (*dst)[count[(key(e.first) >> shift) & 2047u]++] = e;
    std::swap(src, dst);
  }
  if (src != &v) v.swap(*src);
}

struct Split {
  int feature = -1;
  double threshold = 0;
  double proxy = -std::numeric_limits<double>::infinity();
};

}  // namespace

Criterion parse_criterion(const std::string& name) {
  if (name == "gini") return Criterion::kGini;
  if (name == "entropy") return Criterion::kEntropy;
  if (name == "squared_error" || name == "mse") return Criterion::kSquaredError;
  throw Error(cat("criterion '", name, "' is not supported (expected gini, entropy or squared_error)"));
}

int CartTree::depth() const {
  std::vector<int> d(nodes.size(), 0);
  int best = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {  // children always follow their parent
    best = std::max(best, d[i]);
    if (!nodes[i].is_leaf()) d[nodes[i].left] = d[nodes[i].right] = d[i] + 1;
  }
  return best;
}

int CartTree::num_leaves() const {
  return static_cast<int>(std::count_if(nodes.begin(), nodes.end(), [](const CartNode& n) { return n.is_leaf(); }));
}

CartTree fit_cart(const float* X, int64_t rows, int cols, const float* targets, const double* weights,
                  int num_classes, const CartParams& params, Rng& rng) {
  const bool regression = num_classes == 0;
  ROTOR_CHECK(regression == (params.criterion == Criterion::kSquaredError),
              "tree: criterion squared_error is for regression, gini/entropy for classification");
  ROTOR_CHECK(params.min_samples_split >= 2, "min_samples_split must be >= 2, got ", params.min_samples_split);
  ROTOR_CHECK(params.min_samples_leaf >= 1, "min_samples_leaf must be >= 1, got ", params.min_samples_leaf);
  ROTOR_CHECK(params.max_depth >= 0, "max_depth must be >= 0, got ", params.max_depth);
  ROTOR_CHECK(rows < (int64_t{1} << 32), "tree: too many rows (", rows, ")");
  ROTOR_CHECK(params.max_features >= 0 && params.max_features <= cols, "max_features ", params.max_features,
              " is outside [1, ", cols, "]");
  for (int64_t i = 0; i < rows * cols; ++i)
    ROTOR_CHECK(!std::isnan(X[i]), "tree: missing value at row ", i / cols + 1, " column ", i % cols + 1,
                " (decision trees and forests do not support missing values)");
  const Criteria crit(params.criterion, num_classes);
  const int width = crit.width();
  CartTree tree;
  tree.num_outputs = regression ? 1 : num_classes;

  std::vector<int64_t> samples;
  for (int64_t r = 0; r < rows; ++r)
    if (!weights || weights[r] != 0.0) samples.push_back(r);
  ROTOR_CHECK(!samples.empty(), "tree: no rows with non-zero weight");
  auto w_of = [&](int64_t r) { return weights ? weights[r] : 1.0; };
  double total_weight = 0;
  for (int64_t r : samples) total_weight += w_of(r);

  const int max_features = params.max_features > 0 ? params.max_features : cols;
  // Column-major copy: the split search reads one feature of many rows.
  std::vector<float> columns(static_cast<size_t>(rows) * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) columns[static_cast<size_t>(c) * rows + r] = X[r * cols + c];
  auto feature_value = [&](int64_t r, int f) { return columns[static_cast<size_t>(f) * rows + r]; };
  const int64_t min_leaf = params.min_samples_leaf;
  struct Item {
    int64_t begin, end;
    int depth, parent;
    bool is_left;
  };
  std::vector<Item> stack{{0, static_cast<int64_t>(samples.size()), 0, -1, false}};
  std::vector<std::pair<float, uint32_t>> sorted, sort_buffer;  // (value, row)
  std::vector<int> features(static_cast<size_t>(cols));
  Stats node_stats(width), left(width), right(width);
  while (!stack.empty()) {
    const Item item = stack.back();
    stack.pop_back();
    const int id = static_cast<int>(tree.nodes.size());
    tree.nodes.emplace_back();
    if (item.parent >= 0) (item.is_left ? tree.nodes[item.parent].left : tree.nodes[item.parent].right) = id;
    node_stats.clear();
    for (int64_t i = item.begin; i < item.end; ++i) crit.add(node_stats, targets[samples[i]], w_of(samples[i]));
    const double impurity = crit.impurity(node_stats);
    {
      CartNode& node = tree.nodes[id];
      node.impurity = impurity;
      node.weight = node_stats.w;
      node.samples = item.end - item.begin;
    }
    if (regression) tree.values.push_back(node_stats.v[0] / node_stats.w);
    else tree.values.insert(tree.values.end(), node_stats.v.begin(), node_stats.v.end());

    const int64_t n = item.end - item.begin;
    bool leaf = (params.max_depth > 0 && item.depth >= params.max_depth) || n < params.min_samples_split ||
                n < 2 * min_leaf || impurity <= kEpsilon;
    Split best;
    if (!leaf) {
      // Features in random order; constant ones do not count towards max_features.
      std::iota(features.begin(), features.end(), 0);
      int visited = 0;
      for (int drawn = 0; drawn < cols && visited < max_features; ++drawn) {
        const int j = drawn + static_cast<int>(rng.uniform_int(static_cast<uint64_t>(cols - drawn)));
        std::swap(features[drawn], features[j]);
        const int f = features[drawn];
        if (params.random_thresholds) {
          float lo = std::numeric_limits<float>::infinity(), hi = -lo;
          for (int64_t i = item.begin; i < item.end; ++i) {
            const float v = feature_value(samples[i], f);
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
          if (hi <= lo + kFeatureThreshold) continue;
          ++visited;
          double threshold = lo + (static_cast<double>(hi) - lo) * rng.uniform();
          if (threshold >= hi) threshold = lo;
          left.clear();
          int64_t n_left = 0;
          for (int64_t i = item.begin; i < item.end; ++i) {
            const int64_t r = samples[i];
            if (feature_value(r, f) <= threshold) {
              crit.add(left, targets[r], w_of(r));
              ++n_left;
            }
          }
          if (n_left < min_leaf || n - n_left < min_leaf) continue;
          right = node_stats;
          for (size_t k = 0; k < right.v.size(); ++k) right.v[k] -= left.v[k];
          right.w -= left.w;
          const double proxy = crit.proxy(left, right);
          if (proxy > best.proxy) best = {f, threshold, proxy};
          continue;
        }
        sorted.clear();
        for (int64_t i = item.begin; i < item.end; ++i) sorted.emplace_back(feature_value(samples[i], f), static_cast<uint32_t>(samples[i]));
        sort_by_value(sorted, sort_buffer);
        if (sorted.back().first <= sorted.front().first + kFeatureThreshold) continue;
        ++visited;
        left.clear();
        for (int64_t p = 1; p < n; ++p) {
          crit.add(left, targets[sorted[p - 1].second], w_of(sorted[p - 1].second));
          if (sorted[p].first <= sorted[p - 1].first + kFeatureThreshold) continue;
          if (p < min_leaf || n - p < min_leaf) continue;
          const double proxy = crit.proxy_split(left, node_stats);
          if (proxy > best.proxy) {
            double threshold = sorted[p - 1].first / 2.0 + sorted[p].first / 2.0;
            if (threshold == sorted[p].first || std::isinf(threshold)) threshold = sorted[p - 1].first;
            best = {f, threshold, proxy};
          }
        }
      }
      leaf = best.feature < 0;
    }
    if (!leaf) {
      // Partition the rows and check the impurity decrease.
      int64_t mid = item.begin;
      for (int64_t i = item.begin; i < item.end; ++i)
        if (feature_value(samples[i], best.feature) <= best.threshold) std::swap(samples[i], samples[mid++]);
      left.clear();
      right.clear();
      for (int64_t i = item.begin; i < mid; ++i) crit.add(left, targets[samples[i]], w_of(samples[i]));
      for (int64_t i = mid; i < item.end; ++i) crit.add(right, targets[samples[i]], w_of(samples[i]));
      const double w = node_stats.w;
      const double improvement = (w / total_weight) * (impurity - right.w / w * crit.impurity(right) -
                                                       left.w / w * crit.impurity(left));
      if (improvement + kEpsilon < params.min_impurity_decrease) {
        leaf = true;
      } else {
        tree.nodes[id].feature = best.feature;
        tree.nodes[id].threshold = best.threshold;
        stack.push_back({mid, item.end, item.depth + 1, id, false});
        stack.push_back({item.begin, mid, item.depth + 1, id, true});
      }
    }
  }
  if (params.ccp_alpha > 0) prune_cost_complexity(tree, params.ccp_alpha);
  return tree;
}

void prune_cost_complexity(CartTree& tree, double alpha) {
  ROTOR_CHECK(alpha >= 0, "ccp_alpha must be >= 0, got ", alpha);
  const int n = static_cast<int>(tree.nodes.size());
  const double total = tree.nodes[0].weight;
  std::vector<char> leaf(n);
  for (int i = 0; i < n; ++i) leaf[i] = tree.nodes[i].is_leaf();
  std::vector<char> alive(n, 1);
  std::vector<double> r_branch(n);
  std::vector<int> leaves(n);
  while (true) {
    // Subtree risk and leaf counts, children before parents (ids increase downwards).
    for (int i = n - 1; i >= 0; --i) {
      if (!alive[i]) continue;
      if (leaf[i]) {
        r_branch[i] = tree.nodes[i].weight / total * tree.nodes[i].impurity;
        leaves[i] = 1;
      } else {
        r_branch[i] = r_branch[tree.nodes[i].left] + r_branch[tree.nodes[i].right];
        leaves[i] = leaves[tree.nodes[i].left] + leaves[tree.nodes[i].right];
      }
    }
    int weakest = -1;
    double weakest_alpha = std::numeric_limits<double>::infinity();
    for (int i = 0; i < n; ++i) {
      if (!alive[i] || leaf[i]) continue;
      const double r_node = tree.nodes[i].weight / total * tree.nodes[i].impurity;
      const double a = (r_node - r_branch[i]) / (leaves[i] - 1);
      if (a < weakest_alpha) {
        weakest_alpha = a;
        weakest = i;
      }
    }
    if (weakest < 0 || weakest_alpha > alpha) break;
    // Collapse: the node becomes a leaf, its descendants die.
    leaf[weakest] = 1;
    std::vector<int> stack{tree.nodes[weakest].left, tree.nodes[weakest].right};
    while (!stack.empty()) {
      const int i = stack.back();
      stack.pop_back();
      alive[i] = 0;
      if (!tree.nodes[i].is_leaf()) {
        stack.push_back(tree.nodes[i].left);
        stack.push_back(tree.nodes[i].right);
      }
    }
  }
  // Compact the surviving nodes, keeping their order.
  std::vector<int> new_id(n, -1);
  CartTree out;
  out.num_outputs = tree.num_outputs;
  for (int i = 0; i < n; ++i) {
    if (!alive[i]) continue;
    new_id[i] = static_cast<int>(out.nodes.size());
    out.nodes.push_back(tree.nodes[i]);
    out.values.insert(out.values.end(), tree.value(i), tree.value(i) + tree.num_outputs);
  }
  for (CartNode& node : out.nodes) {
    if (node.is_leaf()) continue;
    node.left = new_id[node.left];
    node.right = new_id[node.right];
  }
  for (int i = 0; i < n; ++i)
    if (alive[i] && leaf[i]) {
      CartNode& node = out.nodes[new_id[i]];
      node.left = node.right = node.feature = -1;
      node.threshold = 0;
    }
  tree = std::move(out);
}

std::vector<double> impurity_importances(const CartTree& tree, int cols) {
  std::vector<double> imp(static_cast<size_t>(cols), 0.0);
  for (const CartNode& node : tree.nodes) {
    if (node.is_leaf()) continue;
    const CartNode& l = tree.nodes[node.left];
    const CartNode& r = tree.nodes[node.right];
    imp[node.feature] += node.weight * node.impurity - l.weight * l.impurity - r.weight * r.impurity;
  }
  const double sum = std::accumulate(imp.begin(), imp.end(), 0.0);
  if (sum > 0)
    for (double& v : imp) v /= sum;
  return imp;
}

}  // namespace rotor::trees
