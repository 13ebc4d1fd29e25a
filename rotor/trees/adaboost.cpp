#include "rotor/trees/adaboost.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/io/atomic_file.h"
#include "rotor/trees/cart_json.h"
#include "rotor/trees/class_labels.h"

namespace rotor::trees {

namespace {

int predicted_class(const CartTree& t, const float* x) {
  const double* v = t.value(t.leaf_for(x));
  return static_cast<int>(std::max_element(v, v + t.num_outputs) - v);
}

}  // namespace

AdaBoostModel train_adaboost(const io::Table& train, const AdaBoostParams& params, bool classification) {
  ROTOR_CHECK(params.estimators >= 1, "estimators must be >= 1, got ", params.estimators);
  ROTOR_CHECK(params.learning_rate > 0, "learning_rate must be > 0, got ", params.learning_rate);
  ROTOR_CHECK(params.loss == "linear" || params.loss == "square" || params.loss == "exponential", "loss '",
              params.loss, "' is not linear, square or exponential");
  ROTOR_CHECK(static_cast<int64_t>(train.labels.size()) == train.rows, train.source, ": has no labels");
  for (float v : train.values) ROTOR_CHECK(!std::isnan(v), train.source, ": has missing values (AdaBoost needs complete data)");
  const int64_t n = train.rows;
  const int F = static_cast<int>(train.cols);
  AdaBoostModel model;
  model.classification = classification;
  model.num_feature = F;
  CartParams cp = params.tree;
  if (cp.max_depth == 0) cp.max_depth = classification ? 1 : 3;
  if (!classification) cp.criterion = Criterion::kSquaredError;
  std::vector<float> targets = train.labels;
  int K = 0;
  if (classification) {
    model.classes = sorted_classes(train.labels);
    ROTOR_CHECK(model.classes.size() >= 2, train.source, ": classification needs at least 2 classes");
    K = static_cast<int>(model.classes.size());
    targets = class_indices(train.labels, model.classes);
  }
  // Sample weights start uniform (or the given weights), normalized to sum 1; kept in double.
  std::vector<double> w(static_cast<size_t>(n), 1.0);
  if (!train.weights.empty())
    for (int64_t i = 0; i < n; ++i) w[i] = train.weights[i];
  double wsum = std::accumulate(w.begin(), w.end(), 0.0);
  ROTOR_CHECK(wsum > 0, train.source, ": the sample weights sum to 0");
  for (double& v : w) v /= wsum;
  Rng rng(params.seed);
  std::vector<double> fw(static_cast<size_t>(n));
  const float* X = train.values.data();
  for (int m = 0; m < params.estimators; ++m) {
    const bool last = m == params.estimators - 1;
    if (classification) {
      CartTree tree = fit_cart(X, n, F, targets.data(), w.data(), K, cp, rng);
      std::vector<char> wrong(static_cast<size_t>(n));
      double err = 0;
      for (int64_t i = 0; i < n; ++i) {
        wrong[i] = predicted_class(tree, X + i * F) != static_cast<int>(targets[i]);
        if (wrong[i]) err += w[i];
      }
      err /= std::accumulate(w.begin(), w.end(), 0.0);
      if (err <= 0) {  // perfect fit: keep it with weight 1 and stop
        model.trees.push_back(std::move(tree));
        model.weights.push_back(1.0);
        model.errors.push_back(0.0);
        break;
      }
      if (err >= 1.0 - 1.0 / K) {  // no better than chance: drop it and stop
        ROTOR_CHECK(!model.trees.empty(), "adaboost: the first tree is no better than chance (error ", err,
                    "); the data cannot be fit");
        break;
      }
      const double alpha = params.learning_rate * (std::log((1.0 - err) / err) + std::log(K - 1.0));
      model.trees.push_back(std::move(tree));
      model.weights.push_back(alpha);
      model.errors.push_back(err);
      if (!last)
        for (int64_t i = 0; i < n; ++i)
          if (wrong[i] && w[i] > 0) w[i] = std::exp(std::log(w[i]) + alpha);
    } else {
      // A weighted bootstrap sample (drawn by the weights) becomes the tree's row counts.
      std::vector<double> cdf(static_cast<size_t>(n));
      std::partial_sum(w.begin(), w.end(), cdf.begin());
      std::fill(fw.begin(), fw.end(), 0.0);
      for (int64_t i = 0; i < n; ++i) {
        const double u = rng.uniform() * cdf.back();
        const int64_t j = std::min<int64_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin(), n - 1);
        fw[j] += 1.0;
      }
      CartTree tree = fit_cart(X, n, F, targets.data(), fw.data(), 0, cp, rng);
      std::vector<double> loss(static_cast<size_t>(n));
      double max_err = 0;
      for (int64_t i = 0; i < n; ++i) {
        loss[i] = std::fabs(tree.value(tree.leaf_for(X + i * F))[0] - targets[i]);
        if (w[i] > 0) max_err = std::max(max_err, loss[i]);
      }
      double err = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (w[i] <= 0) continue;
        double l = max_err != 0 ? loss[i] / max_err : loss[i];
        if (params.loss == "square") l = l * l;
        else if (params.loss == "exponential") l = 1.0 - std::exp(-l);
        loss[i] = l;
        err += w[i] * l;
      }
      if (err <= 0) {
        model.trees.push_back(std::move(tree));
        model.weights.push_back(1.0);
        model.errors.push_back(0.0);
        break;
      }
      if (err >= 0.5) {  // scikit-learn keeps a lone first tree, otherwise drops it
        if (model.trees.empty()) {
          model.trees.push_back(std::move(tree));
          model.weights.push_back(1.0);
          model.errors.push_back(err);
        }
        break;
      }
      const double beta = err / (1.0 - err);
      model.trees.push_back(std::move(tree));
      model.weights.push_back(params.learning_rate * std::log(1.0 / beta));
      model.errors.push_back(err);
      if (!last)
        for (int64_t i = 0; i < n; ++i)
          if (w[i] > 0) w[i] *= std::pow(beta, (1.0 - loss[i]) * params.learning_rate);
    }
    wsum = std::accumulate(w.begin(), w.end(), 0.0);
    if (!std::isfinite(wsum) || wsum <= 0) break;
    if (!last)
      for (double& v : w) v /= wsum;
  }
  return model;
}

std::vector<float> AdaBoostModel::predict(const float* values, int64_t rows) const {
  const int F = num_feature;
  if (classification) {
    const int K = num_outputs();
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    std::vector<float> out(static_cast<size_t>(rows * K));
    std::vector<double> d(static_cast<size_t>(K));
    for (int64_t r = 0; r < rows; ++r) {
      std::fill(d.begin(), d.end(), 0.0);
      for (size_t t = 0; t < trees.size(); ++t) d[predicted_class(trees[t], values + r * F)] += weights[t];
      for (double& v : d) v /= total;
      if (K == 2) {  // binary decision d1 - d0, probabilities softmax([-d, d] / 2)
        const double dec = d[1] - d[0];
        d[0] = -dec / 2;
        d[1] = dec / 2;
      } else {
        for (double& v : d) v /= (K - 1);
      }
      const double mx = *std::max_element(d.begin(), d.end());
      double z = 0;
      for (double& v : d) z += (v = std::exp(v - mx));
      for (int k = 0; k < K; ++k) out[static_cast<size_t>(r * K + k)] = static_cast<float>(d[k] / z);
    }
    return out;
  }
  // Weighted median of the trees' predictions.
  std::vector<float> out(static_cast<size_t>(rows));
  const size_t T = trees.size();
  std::vector<std::pair<double, double>> pw(T);
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t t = 0; t < T; ++t) pw[t] = {trees[t].value(trees[t].leaf_for(values + r * F))[0], weights[t]};
    std::stable_sort(pw.begin(), pw.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    double total = 0;
    for (const auto& p : pw) total += p.second;
    double cum = 0;
    size_t pick = T - 1;
    for (size_t t = 0; t < T; ++t) {
      cum += pw[t].second;
      if (cum >= 0.5 * total) {
        pick = t;
        break;
      }
    }
    out[r] = static_cast<float>(pw[pick].first);
  }
  return out;
}

using nlohmann::json;

std::string adaboost_to_json(const AdaBoostModel& m) {
  json j;
  j["format"] = "rotor-adaboost";
  j["version"] = 1;
  j["task"] = m.classification ? "classification" : "regression";
  j["classes"] = m.classes;
  j["num_feature"] = m.num_feature;
  j["weights"] = m.weights;
  j["errors"] = m.errors;
  json trees = json::array();
  for (const CartTree& t : m.trees) trees.push_back(cart_tree_to_json(t, /*with_node_stats=*/false));
  j["trees"] = std::move(trees);
  return j.dump();
}

void save_adaboost(const AdaBoostModel& m, const std::string& path) {
  io::write_file_atomic(path, adaboost_to_json(m) + "\n");
}

AdaBoostModel load_adaboost(const std::string& path) { return adaboost_from_json_text(io::read_file(path), path); }

AdaBoostModel adaboost_from_json_text(const std::string& text, const std::string& path) {
  AdaBoostModel m;
  try {
    const json j = json::parse(text);
    ROTOR_CHECK(j.value("format", "") == "rotor-adaboost" && j.value("version", 0) == 1, path,
                ": not a rotor-adaboost model (version 1)");
    m.classification = j.at("task").get<std::string>() == "classification";
    m.classes = j.at("classes").get<std::vector<float>>();
    m.num_feature = j.at("num_feature").get<int>();
    m.weights = j.at("weights").get<std::vector<double>>();
    m.errors = j.value("errors", std::vector<double>{});
    const int K = m.num_outputs();
    ROTOR_CHECK(m.num_feature > 0 && (!m.classification || K >= 2), path, ": bad num_feature or classes");
    for (const json& jt : j.at("trees")) {
      const std::string where = cat(path, ": tree ", m.trees.size());
      m.trees.push_back(cart_tree_from_json(jt, K, m.num_feature, where));
    }
    ROTOR_CHECK(!m.trees.empty() && m.trees.size() == m.weights.size(), path, ": ", m.trees.size(), " trees and ",
                m.weights.size(), " weights");
  } catch (const json::exception& e) {
    throw Error(cat(path, ": not a valid AdaBoost model (", e.what(), ")"));
  }
  return m;
}

}  // namespace rotor::trees
