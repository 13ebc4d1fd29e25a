#pragma once
// The JSON form of one CART tree, shared by the forest, AdaBoost and gbm model files:
// {"left": [...], "right": [...], "feature": [...], "threshold": [...], "value": [nodes * outputs]}
// and, with node statistics, also "impurity", "weight" and "samples" (read back when present).
#include <nlohmann/json.hpp>

#include <string>

#include "rotor/trees/cart.h"

namespace rotor::trees {

nlohmann::json cart_tree_to_json(const CartTree& tree, bool with_node_stats);

// Strict: equal array lengths, values of [nodes, num_outputs], a leaf has no right child, children come
// after their parent and inside the tree (no cycles), split features in [0, num_feature). Errors name
// `where` (e.g. "model.json: tree 3"). json type errors propagate as nlohmann::json exceptions.
CartTree cart_tree_from_json(const nlohmann::json& jt, int num_outputs, int num_feature, const std::string& where);

}  // namespace rotor::trees
