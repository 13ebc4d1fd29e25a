#include "rotor/trees/cart_json.h"

#include <vector>

#include "rotor/core/error.h"

namespace rotor::trees {

using nlohmann::json;

json cart_tree_to_json(const CartTree& tree, bool with_node_stats) {
  std::vector<int> left, right, feature;
  std::vector<double> threshold, impurity, weight;
  std::vector<int64_t> samples;
  for (const CartNode& n : tree.nodes) {
    left.push_back(n.left);
    right.push_back(n.right);
    feature.push_back(n.feature);
    threshold.push_back(n.threshold);
    if (!with_node_stats) continue;
    impurity.push_back(n.impurity);
    weight.push_back(n.weight);
    samples.push_back(n.samples);
  }
  json jt = {{"left", left}, {"right", right}, {"feature", feature}, {"threshold", threshold}, {"value", tree.values}};
  if (with_node_stats) {
    jt["impurity"] = impurity;
    jt["weight"] = weight;
    jt["samples"] = samples;
  }
  return jt;
}

CartTree cart_tree_from_json(const json& jt, int num_outputs, int num_feature, const std::string& where) {
  CartTree t;
  t.num_outputs = num_outputs;
  const auto left = jt.at("left").get<std::vector<int>>();
  const auto right = jt.at("right").get<std::vector<int>>();
  const auto feature = jt.at("feature").get<std::vector<int>>();
  const auto threshold = jt.at("threshold").get<std::vector<double>>();
  t.values = jt.at("value").get<std::vector<double>>();
  const size_t n = left.size();
  ROTOR_CHECK(n > 0 && right.size() == n && feature.size() == n && threshold.size() == n &&
                  t.values.size() == n * static_cast<size_t>(num_outputs),
              where, ": arrays have inconsistent lengths");
  std::vector<double> impurity, weight;
  std::vector<int64_t> samples;
  if (jt.contains("impurity")) {  // node statistics (a forest checkpoint continues with them)
    impurity = jt.at("impurity").get<std::vector<double>>();
    weight = jt.at("weight").get<std::vector<double>>();
    samples = jt.at("samples").get<std::vector<int64_t>>();
    ROTOR_CHECK(impurity.size() == n && weight.size() == n && samples.size() == n, where,
                ": node statistics have inconsistent lengths");
  }
  t.nodes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    CartNode& node = t.nodes[i];
    if (!impurity.empty()) {
      node.impurity = impurity[i];
      node.weight = weight[i];
      node.samples = samples[i];
    }
    node.left = left[i];
    node.right = right[i];
    node.feature = feature[i];
    node.threshold = threshold[i];
    if (node.is_leaf()) {
      ROTOR_CHECK(node.right < 0, where, ": node ", i, " has only one child");
      continue;
    }
    // Children come after their parent (depth-first numbering): no cycles, every index valid.
    ROTOR_CHECK(node.left > static_cast<int>(i) && node.left < static_cast<int>(n) &&
                    node.right > static_cast<int>(i) && node.right < static_cast<int>(n),
                where, ": node ", i, " has children ", node.left, ", ", node.right, " outside (", i, ", ", n, ")");
    ROTOR_CHECK(node.feature >= 0 && node.feature < num_feature, where, ": node ", i, " splits on feature ",
                node.feature, ", the model has ", num_feature);
  }
  return t;
}

}  // namespace rotor::trees
