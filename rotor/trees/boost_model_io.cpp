// Reading and writing BoostModel: rotor's JSON format, and import of XGBoost's JSON model format
// (learner.gradient_booster.model.trees with left_children / right_children / split_indices /
// split_conditions / default_left; leaves keep their value in split_conditions).
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/trees/boost_model.h"
#include "rotor/trees/objective.h"

namespace rotor::trees {

using nlohmann::json;

namespace {

// Checks that the nodes form one tree rooted at 0 (each node reached exactly once) and that
// features fit num_feature.
void validate_tree(const Tree& t, int num_feature, const std::string& where) {
  const int n = static_cast<int>(t.nodes.size());
  ROTOR_CHECK(n > 0, where, ": has no nodes");
  std::vector<char> seen(n, 0);
  std::vector<int> stack{0};
  int reached = 0;
  while (!stack.empty()) {
    const int i = stack.back();
    stack.pop_back();
    ROTOR_CHECK(!seen[i], where, ": node ", i, " is reached twice (not a tree)");
    seen[i] = 1;
    ++reached;
    const TreeNode& node = t.nodes[i];
    if (node.is_leaf()) {
      ROTOR_CHECK(std::isfinite(node.value), where, ": leaf ", i, " has a non-finite value");
      continue;
    }
    ROTOR_CHECK(node.left > 0 && node.left < n && node.right > 0 && node.right < n, where, ": node ", i,
                " has children ", node.left, ", ", node.right, " outside [1, ", n, ")");
    ROTOR_CHECK(node.feature >= 0 && node.feature < num_feature, where, ": node ", i, " splits on feature ",
                node.feature, ", the model has ", num_feature);
    ROTOR_CHECK(!std::isnan(node.threshold), where, ": node ", i, " has a NaN threshold");
    stack.push_back(node.left);
    stack.push_back(node.right);
  }
  // Unreached nodes (e.g. XGBoost's deleted nodes) are harmless: prediction never visits them.
  (void)reached;
}

template <class T>
std::vector<T> array_of(const json& j, const char* key, size_t expected, const std::string& where) {
  ROTOR_CHECK(j.contains(key) && j[key].is_array(), where, ": missing array '", key, "'");
  std::vector<T> out = j[key].get<std::vector<T>>();
  ROTOR_CHECK(out.size() == expected, where, ": '", key, "' has ", out.size(), " entries, expected ", expected);
  return out;
}

// XGBoost stores numbers of learner_model_param as strings ("5E-1").
double number_of(const json& j, const std::string& where) {
  if (j.is_number()) return j.get<double>();
  ROTOR_CHECK(j.is_string(), where, ": expected a number");
  const std::string s = j.get<std::string>();
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  ROTOR_CHECK(used == s.size() && !s.empty(), where, ": '", s, "' is not a number");
  return v;
}

// The nodes' children and default directions, the part both JSON forms store alike; a node with only
// one child is an error.
Tree tree_with_children(const std::vector<int>& left, const std::vector<int>& right,
                        const std::vector<int>& default_left, const std::string& where) {
  Tree tree;
  tree.nodes.resize(left.size());
  for (size_t i = 0; i < left.size(); ++i) {
    TreeNode& node = tree.nodes[i];
    node.left = left[i];
    node.right = right[i];
    node.default_left = default_left[i] != 0;
    ROTOR_CHECK((node.left < 0) == (node.right < 0), where, ": node ", i, " has only one child");
  }
  return tree;
}

void finish_model(BoostModel& m, const std::string& source) {
  ObjectiveParams p;
  p.num_class = m.num_class;
  p.huber_slope = m.huber_slope;
  p.quantile_alpha = m.quantile_alpha;
  auto objective = make_objective(m.objective, p);  // throws for unsupported objectives
  m.base_margin = objective->base_margin(m.base_score);
  ROTOR_CHECK(m.num_feature > 0, source, ": num_feature is ", m.num_feature);
  ROTOR_CHECK(m.tree_class.size() == m.trees.size(), source, ": ", m.tree_class.size(), " tree classes for ",
              m.trees.size(), " trees");
  for (size_t t = 0; t < m.trees.size(); ++t) {
    ROTOR_CHECK(m.tree_class[t] >= 0 && m.tree_class[t] < m.num_outputs(), source, ": tree ", t, " adds to output ",
                m.tree_class[t], ", the model has ", m.num_outputs());
    validate_tree(m.trees[t], m.num_feature, cat(source, ": tree ", t));
  }
}

BoostModel from_rotor_json(const json& j, const std::string& source) {
  BoostModel m;
  ROTOR_CHECK(j.value("version", 0) == 1, source, ": unsupported rotor-boost version ", j.value("version", 0));
  m.objective = j.at("objective").get<std::string>();
  m.num_class = j.at("num_class").get<int>();
  m.num_feature = j.at("num_feature").get<int>();
  m.base_score = j.at("base_score").get<double>();
  m.huber_slope = j.value("huber_slope", 1.0);
  m.quantile_alpha = j.value("quantile_alpha", 0.5);
  m.best_iteration = j.value("best_iteration", -1);
  if (j.contains("feature_names")) m.feature_names = j["feature_names"].get<std::vector<std::string>>();
  const json& trees = j.at("trees");
  ROTOR_CHECK(trees.is_array(), source, ": 'trees' is not an array");
  for (size_t t = 0; t < trees.size(); ++t) {
    const json& jt = trees[t];
    const std::string where = cat(source, ": tree ", t);
    const std::vector<int> left = jt.at("left").get<std::vector<int>>();
    const size_t n = left.size();
    const auto right = array_of<int>(jt, "right", n, where);
    const auto feature = array_of<int>(jt, "feature", n, where);
    const auto threshold = array_of<float>(jt, "threshold", n, where);
    const auto default_left = array_of<int>(jt, "default_left", n, where);
    const auto value = array_of<float>(jt, "value", n, where);
    const auto gain = array_of<float>(jt, "gain", n, where);
    const auto cover = array_of<float>(jt, "cover", n, where);
    Tree tree = tree_with_children(left, right, default_left, where);
    for (size_t i = 0; i < n; ++i) {
      TreeNode& node = tree.nodes[i];
      node.feature = feature[i];
      node.threshold = threshold[i];
      node.value = value[i];
      node.gain = gain[i];
      node.cover = cover[i];
    }
    m.trees.push_back(std::move(tree));
    m.tree_class.push_back(jt.at("class").get<int>());
  }
  return m;
}

BoostModel from_xgboost_json(const json& j, const std::string& source) {
  BoostModel m;
  const json& learner = j.at("learner");
  const json& mp = learner.at("learner_model_param");
  m.base_score = number_of(mp.at("base_score"), source + ": base_score");
  m.num_class = static_cast<int>(number_of(mp.at("num_class"), source + ": num_class"));
  m.num_feature = static_cast<int>(number_of(mp.at("num_feature"), source + ": num_feature"));
  if (mp.contains("num_target"))
    ROTOR_CHECK(number_of(mp["num_target"], source) == 1, source, ": multi-target XGBoost models are not supported");
  const json& obj = learner.at("objective");
  m.objective = obj.at("name").get<std::string>();
  if (obj.contains("pseudo_huber_param"))
    m.huber_slope = number_of(obj["pseudo_huber_param"].at("huber_slope"), source + ": huber_slope");
  if (learner.contains("feature_names") && learner["feature_names"].is_array())
    m.feature_names = learner["feature_names"].get<std::vector<std::string>>();
  const json& booster = learner.at("gradient_booster");
  const std::string kind = booster.at("name").get<std::string>();
  ROTOR_CHECK(kind == "gbtree", source, ": XGBoost booster '", kind, "' is not supported (only gbtree)");
  const json& model = booster.at("model");
  const json& trees = model.at("trees");
  const std::vector<int> tree_info = model.at("tree_info").get<std::vector<int>>();
  ROTOR_CHECK(tree_info.size() == trees.size(), source, ": tree_info has ", tree_info.size(), " entries for ",
              trees.size(), " trees");
  for (size_t t = 0; t < trees.size(); ++t) {
    const json& jt = trees[t];
    const std::string where = cat(source, ": tree ", t);
    const std::vector<int> left = jt.at("left_children").get<std::vector<int>>();
    const size_t n = left.size();
    const auto right = array_of<int>(jt, "right_children", n, where);
    const auto split_index = array_of<int>(jt, "split_indices", n, where);
    const auto split_cond = array_of<float>(jt, "split_conditions", n, where);
    const auto default_left = array_of<int>(jt, "default_left", n, where);
    if (jt.contains("split_type")) {
      const auto split_type = array_of<int>(jt, "split_type", n, where);
      for (int s : split_type) ROTOR_CHECK(s == 0, where, ": categorical splits are not supported");
    }
    std::vector<float> base_weights(n, 0.0f), loss(n, 0.0f), hess(n, 0.0f);
    if (jt.contains("base_weights")) base_weights = array_of<float>(jt, "base_weights", n, where);
    if (jt.contains("loss_changes")) loss = array_of<float>(jt, "loss_changes", n, where);
    if (jt.contains("sum_hessian")) hess = array_of<float>(jt, "sum_hessian", n, where);
    Tree tree = tree_with_children(left, right, default_left, where);
    for (size_t i = 0; i < n; ++i) {
      TreeNode& node = tree.nodes[i];
      node.cover = hess[i];
      if (node.is_leaf()) {
        node.value = split_cond[i];
      } else {
        node.feature = split_index[i];
        node.threshold = split_cond[i];
        node.value = base_weights[i];
        node.gain = loss[i];
      }
    }
    m.trees.push_back(std::move(tree));
    m.tree_class.push_back(tree_info[t]);
  }
  if (m.objective != "multi:softprob" && m.objective != "multi:softmax") m.num_class = 0;
  return m;
}

}  // namespace

std::string model_to_json(const BoostModel& m) {
  json j;
  j["format"] = "rotor-boost";
  j["version"] = 1;
  j["objective"] = m.objective;
  j["num_class"] = m.num_class;
  j["num_feature"] = m.num_feature;
  j["base_score"] = m.base_score;
  j["huber_slope"] = m.huber_slope;
  j["quantile_alpha"] = m.quantile_alpha;
  j["best_iteration"] = m.best_iteration;
  j["feature_names"] = m.feature_names;
  json trees = json::array();
  for (size_t t = 0; t < m.trees.size(); ++t) {
    const Tree& tree = m.trees[t];
    std::vector<int> left, right, feature, default_left;
    std::vector<float> threshold, value, gain, cover;
    for (const TreeNode& n : tree.nodes) {
      left.push_back(n.left);
      right.push_back(n.right);
      feature.push_back(n.feature);
      default_left.push_back(n.default_left ? 1 : 0);
      threshold.push_back(n.threshold);
      value.push_back(n.value);
      gain.push_back(n.gain);
      cover.push_back(n.cover);
    }
    trees.push_back({{"class", m.tree_class[t]}, {"left", left}, {"right", right}, {"feature", feature},
                     {"threshold", threshold}, {"default_left", default_left}, {"value", value}, {"gain", gain},
                     {"cover", cover}});
  }
  j["trees"] = std::move(trees);
  return j.dump();
}

void save_model(const BoostModel& model, const std::string& path) {
  io::write_file_atomic(path, model_to_json(model) + "\n");
}

BoostModel model_from_json_text(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(cat(source, ": not a valid JSON model (", e.what(), ")"));
  }
  BoostModel m;
  try {
    if (j.is_object() && j.value("format", "") == "rotor-boost") m = from_rotor_json(j, source);
    else if (j.is_object() && j.contains("learner")) m = from_xgboost_json(j, source);
    else throw Error(cat(source, ": neither a rotor-boost nor an XGBoost JSON model"));
  } catch (const json::exception& e) {
    throw Error(cat(source, ": malformed model (", e.what(), ")"));
  }
  finish_model(m, source);
  return m;
}

BoostModel load_model(const std::string& path) { return model_from_json_text(io::read_file(path), path); }

}  // namespace rotor::trees
