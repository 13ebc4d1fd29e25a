#include "rotor/trees/gbm.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/io/atomic_file.h"
#include "rotor/trees/cart_json.h"
#include "rotor/trees/class_labels.h"

namespace rotor::trees {

namespace {
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
}  // namespace

GbmModel train_gbm(const io::Table& train, const GbmParams& params) {
  ROTOR_CHECK(params.loss == "squared_error" || params.loss == "log_loss", "loss '", params.loss,
              "' is not squared_error or log_loss");
  ROTOR_CHECK(params.estimators >= 1, "n_estimators must be >= 1");
  ROTOR_CHECK(params.learning_rate > 0, "learning_rate must be > 0");
  ROTOR_CHECK(params.subsample > 0 && params.subsample <= 1, "subsample must be in (0, 1]");
  ROTOR_CHECK(static_cast<int64_t>(train.labels.size()) == train.rows, train.source, ": has no labels");
  for (float v : train.values) ROTOR_CHECK(!std::isnan(v), train.source, ": has missing values (gbm needs complete data)");
  const int64_t n = train.rows;
  const int F = static_cast<int>(train.cols);
  GbmModel model;
  model.loss = params.loss;
  model.num_feature = F;
  model.learning_rate = params.learning_rate;
  const bool logistic = params.loss == "log_loss";
  std::vector<double> y(train.labels.begin(), train.labels.end());
  std::vector<double> w(static_cast<size_t>(n), 1.0);
  if (!train.weights.empty()) w.assign(train.weights.begin(), train.weights.end());
  if (logistic) {
    model.classes = sorted_classes(train.labels);
    ROTOR_CHECK(model.classes.size() == 2, train.source, ": log_loss needs exactly 2 classes, found ",
                model.classes.size());
    for (double& v : y) v = v == model.classes[1] ? 1.0 : 0.0;
  }
  double sw = 0, swy = 0;
  for (int64_t i = 0; i < n; ++i) sw += w[i], swy += w[i] * y[i];
  if (logistic) {
    const double p = swy / sw;
    ROTOR_CHECK(p > 0 && p < 1, train.source, ": both classes need positive weight");
    model.init = std::log(p / (1 - p));
  } else {
    model.init = swy / sw;
  }
  CartParams cp = params.tree;
  cp.criterion = Criterion::kSquaredError;
  if (cp.max_depth == 0) cp.max_depth = 3;
  std::vector<double> raw(static_cast<size_t>(n), model.init), tree_w(static_cast<size_t>(n));
  std::vector<float> residual(static_cast<size_t>(n));
  Rng rng(params.seed);
  const int64_t sample = std::max<int64_t>(1, static_cast<int64_t>(params.subsample * static_cast<double>(n)));
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::vector<std::vector<int64_t>> leaf_rows;
  for (int m = 0; m < params.estimators; ++m) {
    for (int64_t i = 0; i < n; ++i)
      residual[i] = static_cast<float>(logistic ? y[i] - sigmoid(raw[i]) : y[i] - raw[i]);
    // Rows of this round: all, or a sample without replacement.
    tree_w = w;
    if (sample < n) {
      for (int64_t i = 0; i < n; ++i) order[i] = i;
      for (int64_t i = 0; i < sample; ++i) std::swap(order[i], order[i + rng.uniform_int(static_cast<uint64_t>(n - i))]);
      std::fill(tree_w.begin(), tree_w.end(), 0.0);
      for (int64_t i = 0; i < sample; ++i) tree_w[order[i]] = w[order[i]];
    }
    CartTree tree = fit_cart(train.values.data(), n, F, residual.data(), tree_w.data(), 0, cp, rng);
    // Leaf values: the loss-optimal step over the in-sample rows of each leaf.
    leaf_rows.assign(tree.nodes.size(), {});
    for (int64_t i = 0; i < n; ++i)
      if (tree_w[i] > 0) leaf_rows[tree.leaf_for(train.values.data() + i * F)].push_back(i);
    for (size_t node = 0; node < tree.nodes.size(); ++node) {
      if (!tree.nodes[node].is_leaf() || !logistic) continue;
      double num = 0, den = 0;
      for (int64_t i : leaf_rows[node]) {
        const double p = sigmoid(raw[i]);
        num += tree_w[i] * residual[i];
        den += tree_w[i] * p * (1 - p);
      }
      tree.values[node] = std::fabs(den) < 1e-150 ? 0.0 : num / den;
    }
    for (int64_t i = 0; i < n; ++i)
      raw[i] += params.learning_rate * tree.value(tree.leaf_for(train.values.data() + i * F))[0];
    model.trees.push_back(std::move(tree));
  }
  return model;
}

std::vector<double> GbmModel::raw(const float* values, int64_t rows) const {
  std::vector<double> out(static_cast<size_t>(rows), init);
  for (int64_t r = 0; r < rows; ++r)
    for (const CartTree& t : trees) out[r] += learning_rate * t.value(t.leaf_for(values + r * num_feature))[0];
  return out;
}

std::vector<float> GbmModel::predict(const float* values, int64_t rows) const {
  const auto r = raw(values, rows);
  std::vector<float> out(r.size());
  for (size_t i = 0; i < r.size(); ++i) out[i] = static_cast<float>(loss == "log_loss" ? sigmoid(r[i]) : r[i]);
  return out;
}

using nlohmann::json;

std::string gbm_to_json(const GbmModel& m) {
  json j;
  j["format"] = "rotor-gbm";
  j["version"] = 1;
  j["loss"] = m.loss;
  j["classes"] = m.classes;
  j["num_feature"] = m.num_feature;
  j["init"] = m.init;
  j["learning_rate"] = m.learning_rate;
  json trees = json::array();
  for (const CartTree& t : m.trees) trees.push_back(cart_tree_to_json(t, /*with_node_stats=*/false));
  j["trees"] = std::move(trees);
  return j.dump();
}

void save_gbm(const GbmModel& m, const std::string& path) {
  io::write_file_atomic(path, gbm_to_json(m) + "\n");
}

GbmModel load_gbm(const std::string& path) { return gbm_from_json_text(io::read_file(path), path); }

GbmModel gbm_from_json_text(const std::string& text, const std::string& path) {
  GbmModel m;
  try {
    const json j = json::parse(text);
    ROTOR_CHECK(j.value("format", "") == "rotor-gbm" && j.value("version", 0) == 1, path,
                ": not a rotor-gbm model (version 1)");
    m.loss = j.at("loss").get<std::string>();
    ROTOR_CHECK(m.loss == "squared_error" || m.loss == "log_loss", path, ": unknown loss ", m.loss);
    m.classes = j.at("classes").get<std::vector<float>>();
    m.num_feature = j.at("num_feature").get<int>();
    m.init = j.at("init").get<double>();
    m.learning_rate = j.at("learning_rate").get<double>();
    ROTOR_CHECK(m.num_feature > 0, path, ": num_feature is ", m.num_feature);
    for (const json& jt : j.at("trees")) {
      const std::string where = cat(path, ": tree ", m.trees.size());
      m.trees.push_back(cart_tree_from_json(jt, 1, m.num_feature, where));
    }
  } catch (const json::exception& e) {
    throw Error(cat(path, ": not a valid gbm model (", e.what(), ")"));
  }
  return m;
}

}  // namespace rotor::trees
