#include "rotor/trees/ensemble.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/io/atomic_file.h"
#include "rotor/trees/adaboost.h"
#include "rotor/trees/boost_model.h"
#include "rotor/trees/booster.h"
#include "rotor/trees/forest.h"
#include "rotor/trees/gbm.h"

namespace rotor::trees {

using nlohmann::json;

namespace {

double number(const std::string& key, const std::string& value) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  ROTOR_CHECK(used == value.size() && !value.empty(), "learner parameter ", key, "='", value, "' is not a number");
  return v;
}

// Places a model's per-class columns (for its own sorted class labels) at columns 0..K-1.
std::vector<float> expand_classes(const std::vector<float>& pred, const std::vector<float>& classes, int K,
                                  int64_t rows) {
  const int k_model = static_cast<int>(classes.size());
  std::vector<float> out(static_cast<size_t>(rows * K), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < k_model; ++c) out[r * K + static_cast<int>(classes[c])] = pred[r * k_model + c];
  return out;
}

// [rows] P(class 1) -> [rows, 2] columns (P(class 0), P(class 1)).
std::vector<float> binary_columns(const std::vector<float>& p, int64_t rows) {
  std::vector<float> out(static_cast<size_t>(rows * 2));
  for (int64_t r = 0; r < rows; ++r) out[r * 2] = 1 - p[r], out[r * 2 + 1] = p[r];
  return out;
}

class BoostAny : public AnyModel {
 public:
  BoostAny(BoostModel m, int K) : m_(std::move(m)), k_(K) {}
  std::vector<float> predict(const float* x, int64_t rows) const override {
    std::vector<float> p = m_.predict(x, rows);
    return k_ != 2 ? p : binary_columns(p, rows);
  }
  std::string kind() const override { return "boost"; }
  std::string to_json() const override { return model_to_json(m_); }

 private:
  BoostModel m_;
  int k_;
};

// A model that predicts one column per class of its own sorted labels (forest, tree, AdaBoost).
template <class Model, std::string (*ModelToJson)(const Model&)>
class ClassColumnsAny : public AnyModel {
 public:
  ClassColumnsAny(Model m, int K, std::string kind) : m_(std::move(m)), k_(K), kind_(std::move(kind)) {}
  std::vector<float> predict(const float* x, int64_t rows) const override {
    std::vector<float> p = m_.predict(x, rows);
    return k_ > 0 ? expand_classes(p, m_.classes, k_, rows) : p;
  }
  std::string kind() const override { return kind_; }
  std::string to_json() const override { return ModelToJson(m_); }

 private:
  Model m_;
  int k_;
  std::string kind_;
};

using ForestAny = ClassColumnsAny<ForestModel, forest_to_json>;
using AdaAny = ClassColumnsAny<AdaBoostModel, adaboost_to_json>;

class GbmAny : public AnyModel {
 public:
  GbmAny(GbmModel m, int K) : m_(std::move(m)), k_(K) {}
  std::vector<float> predict(const float* x, int64_t rows) const override {
    std::vector<float> p = m_.predict(x, rows);
    return k_ == 0 ? p : expand_classes(binary_columns(p, rows), m_.classes, 2, rows);
  }
  std::string kind() const override { return "gbm"; }
  std::string to_json() const override { return gbm_to_json(m_); }

 private:
  GbmModel m_;
  int k_;
};

// Solves A x = b (n x n, row-major) by Gaussian elimination with partial pivoting.
std::vector<double> solve(std::vector<double> A, std::vector<double> b, int n) {
  for (int c = 0; c < n; ++c) {
    int piv = c;
    for (int r = c + 1; r < n; ++r)
      if (std::fabs(A[r * n + c]) > std::fabs(A[piv * n + c])) piv = r;
    ROTOR_CHECK(std::fabs(A[piv * n + c]) > 1e-300, "stacking: singular meta-learner system");
    for (int k = 0; k < n; ++k) std::swap(A[c * n + k], A[piv * n + k]);
    std::swap(b[c], b[piv]);
    for (int r = c + 1; r < n; ++r) {
      const double f = A[r * n + c] / A[c * n + c];
      for (int k = c; k < n; ++k) A[r * n + k] -= f * A[c * n + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (int r = n - 1; r >= 0; --r) {
    double s = b[r];
    for (int k = r + 1; k < n; ++k) s -= A[r * n + k] * x[k];
    x[r] = s / A[r * n + r];
  }
  return x;
}

// Meta features [rows, d] -> coefficients [d + 1] (intercept last, not penalized).
std::vector<double> fit_ridge(const std::vector<double>& X, const std::vector<double>& y, int d, double l2) {
  const int n1 = d + 1;
  const int64_t rows = static_cast<int64_t>(y.size());
  std::vector<double> A(static_cast<size_t>(n1 * n1), 0.0), b(n1, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int i = 0; i < n1; ++i) {
      const double xi = i < d ? X[r * d + i] : 1.0;
      b[i] += xi * y[r];
      for (int j = 0; j < n1; ++j) A[i * n1 + j] += xi * (j < d ? X[r * d + j] : 1.0);
    }
  for (int i = 0; i < d; ++i) A[i * n1 + i] += l2;
  return solve(A, b, n1);
}

std::vector<double> fit_logistic(const std::vector<double>& X, const std::vector<double>& y, int d, double l2) {
  const int n1 = d + 1;
  const int64_t rows = static_cast<int64_t>(y.size());
  std::vector<double> w(n1, 0.0);
  for (int iter = 0; iter < 50; ++iter) {  // Newton's method
    std::vector<double> H(static_cast<size_t>(n1 * n1), 0.0), g(n1, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      double z = w[d];
      for (int i = 0; i < d; ++i) z += w[i] * X[r * d + i];
      const double p = 1 / (1 + std::exp(-z)), s = std::max(p * (1 - p), 1e-12);
      for (int i = 0; i < n1; ++i) {
        const double xi = i < d ? X[r * d + i] : 1.0;
        g[i] += (p - y[r]) * xi;
        for (int j = 0; j < n1; ++j) H[i * n1 + j] += s * xi * (j < d ? X[r * d + j] : 1.0);
      }
    }
    for (int i = 0; i < d; ++i) {
      g[i] += l2 * w[i];
      H[i * n1 + i] += l2;
    }
    H[d * n1 + d] += 1e-9;
    const std::vector<double> step = solve(H, g, n1);
    double change = 0;
    for (int i = 0; i < n1; ++i) w[i] -= step[i], change = std::max(change, std::fabs(step[i]));
    if (change < 1e-10) break;
  }
  return w;
}

// Meta features of base predictions: binary -> P(class 1) per base; K > 2 -> all K per base;
// regression -> the value per base.
int meta_width(int num_classes, size_t bases) {
  return static_cast<int>(bases) * (num_classes == 0 ? 1 : (num_classes == 2 ? 1 : num_classes));
}
void put_meta(const std::vector<float>& pred, int num_classes, size_t base, size_t bases, int64_t row,
              int64_t pred_row, std::vector<double>& meta) {
  const int d = meta_width(num_classes, bases);
  if (num_classes == 0) meta[row * d + base] = pred[pred_row];
  else if (num_classes == 2) meta[row * d + base] = pred[pred_row * 2 + 1];
  else
    for (int k = 0; k < num_classes; ++k) meta[row * d + base * num_classes + k] = pred[pred_row * num_classes + k];
}

std::vector<float> apply_meta(const std::vector<std::vector<double>>& coef, const std::vector<double>& meta, int d,
                              int64_t rows, int num_classes) {
  const int K = num_classes == 0 ? 1 : num_classes;
  std::vector<float> out(static_cast<size_t>(rows * K));
  for (int64_t r = 0; r < rows; ++r) {
    auto linear = [&](const std::vector<double>& w) {
      double z = w[d];
      for (int i = 0; i < d; ++i) z += w[i] * meta[r * d + i];
      return z;
    };
    if (num_classes == 0) {
      out[r] = static_cast<float>(linear(coef[0]));
    } else if (num_classes == 2) {
      const double p = 1 / (1 + std::exp(-linear(coef[0])));
      out[r * 2] = static_cast<float>(1 - p);
      out[r * 2 + 1] = static_cast<float>(p);
    } else {
      double total = 0;
      for (int k = 0; k < K; ++k) total += (out[r * K + k] = static_cast<float>(1 / (1 + std::exp(-linear(coef[k])))));
      for (int k = 0; k < K; ++k) out[r * K + k] = static_cast<float>(out[r * K + k] / total);
    }
  }
  return out;
}

io::Table take_rows(const io::Table& t, const std::vector<int64_t>& rows) {
  io::Table out;
  out.cols = t.cols;
  out.rows = static_cast<int64_t>(rows.size());
  out.source = t.source;
  out.feature_names = t.feature_names;
  for (int64_t r : rows) {
    out.values.insert(out.values.end(), t.values.begin() + r * t.cols, t.values.begin() + (r + 1) * t.cols);
    out.labels.push_back(t.labels[r]);
    if (!t.weights.empty()) out.weights.push_back(t.weights[r]);
  }
  return out;
}

double score_of(const std::vector<float>& pred, const std::vector<float>& labels, int num_classes) {
  const int64_t n = static_cast<int64_t>(labels.size());
  if (num_classes == 0) {
    double mean = 0, res = 0, tot = 0;
    for (float y : labels) mean += y / n;
    for (int64_t i = 0; i < n; ++i) res += (labels[i] - pred[i]) * (labels[i] - pred[i]), tot += (labels[i] - mean) * (labels[i] - mean);
    return tot > 0 ? 1 - res / tot : 0;
  }
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* p = pred.data() + i * num_classes;
    correct += (std::max_element(p, p + num_classes) - p) == static_cast<int64_t>(labels[i]);
  }
  return static_cast<double>(correct) / n;
}

void check_classes(const io::Table& t, int num_classes) {
  ROTOR_CHECK(static_cast<int64_t>(t.labels.size()) == t.rows, t.source, ": has no labels");
  if (num_classes == 0) return;
  ROTOR_CHECK(num_classes >= 2, "num_classes must be >= 2 for classification");
  for (size_t i = 0; i < t.labels.size(); ++i)
    ROTOR_CHECK(t.labels[i] >= 0 && t.labels[i] < num_classes && t.labels[i] == std::floor(t.labels[i]), t.source,
                ": row ", i + 1, ": label ", t.labels[i], " is not a class in [0, ", num_classes, ")");
}

}  // namespace

LearnerSpec LearnerSpec::parse(const std::string& text) {
  LearnerSpec s;
  const size_t colon = text.find(':');
  s.kind = text.substr(0, colon);
  ROTOR_CHECK(s.kind == "tree" || s.kind == "forest" || s.kind == "boost" || s.kind == "adaboost" || s.kind == "gbm",
              "learner '", s.kind, "' is not tree, forest, boost, adaboost or gbm");
  if (colon == std::string::npos) return s;
  std::string rest = text.substr(colon + 1) + ",";
  std::string item;
  for (char c : rest) {
    if (c != ',') {
      item += c;
      continue;
    }
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    ROTOR_CHECK(eq != std::string::npos && eq > 0, "learner parameter '", item, "' is not key=value");
    s.params.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    item.clear();
  }
  return s;
}

std::string LearnerSpec::to_string() const {
  std::string s = kind;
  for (size_t i = 0; i < params.size(); ++i) s += (i ? "," : ":") + params[i].first + "=" + params[i].second;
  return s;
}

std::unique_ptr<AnyModel> train_learner(const LearnerSpec& spec, const io::Table& data, int K, uint64_t seed) {
  const bool classification = K > 0;
  auto unknown = [&](const std::string& key) {
    return Error(cat("learner ", spec.kind, ": unknown parameter '", key, "'"));
  };
  if (spec.kind == "boost") {
    BoostParams p;
    p.objective = !classification ? "reg:squarederror" : (K == 2 ? "binary:logistic" : "multi:softprob");
    p.num_class = K > 2 ? K : 0;
    p.seed = seed;
    for (const auto& [k, v] : spec.params) {
      if (k == "rounds" || k == "n_estimators") p.rounds = static_cast<int>(number(k, v));
      else if (k == "max_depth") p.tree.max_depth = static_cast<int>(number(k, v));
      else if (k == "eta" || k == "learning_rate") p.tree.eta = number(k, v);
      else if (k == "lambda") p.tree.penalty.lambda = number(k, v);
      else if (k == "min_child_weight") p.tree.penalty.min_child_weight = number(k, v);
      else if (k == "subsample") p.subsample = number(k, v);
      else if (k == "colsample_bytree") p.colsample_bytree = number(k, v);
      else throw unknown(k);
    }
    return std::make_unique<BoostAny>(train_booster(data, nullptr, p).model, K);
  }
  if (spec.kind == "tree" || spec.kind == "forest") {
    ForestParams p;
    p.seed = seed;
    p.tree.criterion = classification ? Criterion::kGini : Criterion::kSquaredError;
    if (spec.kind == "tree") {
      p.trees = 1;
      p.bootstrap = false;
      p.max_features = "all";
    }
    for (const auto& [k, v] : spec.params) {
      if (k == "max_depth") p.tree.max_depth = static_cast<int>(number(k, v));
      else if (k == "min_samples_leaf") p.tree.min_samples_leaf = static_cast<int64_t>(number(k, v));
      else if (k == "criterion") p.tree.criterion = parse_criterion(v);
      else if (k == "ccp_alpha") p.tree.ccp_alpha = number(k, v);
      else if (spec.kind == "forest" && (k == "trees" || k == "n_estimators")) p.trees = static_cast<int>(number(k, v));
      else if (spec.kind == "forest" && k == "max_features") p.max_features = v;
      else if (spec.kind == "forest" && k == "extra_trees") p.tree.random_thresholds = number(k, v) != 0;
      else throw unknown(k);
    }
    return std::make_unique<ForestAny>(train_forest(data, p, classification).model, K, spec.kind);
  }
  if (spec.kind == "adaboost") {
    AdaBoostParams p;
    p.seed = seed;
    for (const auto& [k, v] : spec.params) {
      if (k == "n_estimators") p.estimators = static_cast<int>(number(k, v));
      else if (k == "learning_rate") p.learning_rate = number(k, v);
      else if (k == "max_depth") p.tree.max_depth = static_cast<int>(number(k, v));
      else throw unknown(k);
    }
    return std::make_unique<AdaAny>(train_adaboost(data, p, classification), K, "adaboost");
  }
  GbmParams p;  // gbm
  ROTOR_CHECK(K == 0 || K == 2, "learner gbm: only regression and binary classification");
  p.loss = classification ? "log_loss" : "squared_error";
  p.seed = seed;
  for (const auto& [k, v] : spec.params) {
    if (k == "n_estimators") p.estimators = static_cast<int>(number(k, v));
    else if (k == "learning_rate") p.learning_rate = number(k, v);
    else if (k == "max_depth") p.tree.max_depth = static_cast<int>(number(k, v));
    else if (k == "subsample") p.subsample = number(k, v);
    else throw unknown(k);
  }
  return std::make_unique<GbmAny>(train_gbm(data, p), K);
}

std::unique_ptr<AnyModel> any_model_from_json(const std::string& kind, const std::string& text,
                                              const std::string& source, int K) {
  if (kind == "boost") return std::make_unique<BoostAny>(model_from_json_text(text, source), K);
  if (kind == "tree" || kind == "forest") return std::make_unique<ForestAny>(forest_from_json_text(text, source), K, kind);
  if (kind == "adaboost") return std::make_unique<AdaAny>(adaboost_from_json_text(text, source), K, "adaboost");
  if (kind == "gbm") return std::make_unique<GbmAny>(gbm_from_json_text(text, source), K);
  throw Error(cat(source, ": unknown base model kind '", kind, "'"));
}

std::vector<float> EnsembleModel::predict(const float* values, int64_t rows) const {
  const int K = num_outputs();
  if (method == "bagging") {
    std::vector<float> out(static_cast<size_t>(rows * K), 0.0f);
    for (const auto& b : bases) {
      const auto p = b->predict(values, rows);
      for (size_t i = 0; i < out.size(); ++i) out[i] += p[i] / static_cast<float>(bases.size());
    }
    return out;
  }
  const int d = meta_width(num_classes, bases.size());
  std::vector<double> features(static_cast<size_t>(rows * d));
  for (size_t b = 0; b < bases.size(); ++b) {
    const auto p = bases[b]->predict(values, rows);
    for (int64_t r = 0; r < rows; ++r) put_meta(p, num_classes, b, bases.size(), r, r, features);
  }
  return apply_meta(meta, features, d, rows, num_classes);
}

EnsembleResult train_bagging(const io::Table& data, const LearnerSpec& spec, int estimators, double max_samples,
                             int num_classes, uint64_t seed) {
  check_classes(data, num_classes);
  ROTOR_CHECK(estimators >= 1, "estimators must be >= 1");
  ROTOR_CHECK(max_samples > 0 && max_samples <= 1, "max_samples must be in (0, 1]");
  EnsembleResult result;
  EnsembleModel& m = result.model;
  m.method = "bagging";
  m.num_classes = num_classes;
  m.num_feature = static_cast<int>(data.cols);
  Rng rng(seed);
  const int64_t draw = std::max<int64_t>(1, static_cast<int64_t>(max_samples * static_cast<double>(data.rows)));
  for (int e = 0; e < estimators; ++e) {
    std::vector<int64_t> rows(static_cast<size_t>(draw));
    for (int64_t& r : rows) r = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(data.rows)));
    m.specs.push_back(spec);
    m.bases.push_back(train_learner(spec, take_rows(data, rows), num_classes, rng.next_u64()));
  }
  return result;
}

EnsembleResult train_stacking(const io::Table& data, const std::vector<LearnerSpec>& specs, int folds,
                              int num_classes, double meta_l2, uint64_t seed) {
  check_classes(data, num_classes);
  ROTOR_CHECK(!specs.empty(), "stacking needs at least one base learner");
  ROTOR_CHECK(folds >= 2 && folds <= data.rows, "folds must be in [2, rows], got ", folds);
  ROTOR_CHECK(meta_l2 >= 0, "meta l2 must be >= 0");
  EnsembleResult result;
  EnsembleModel& m = result.model;
  m.method = "stacking";
  m.num_classes = num_classes;
  m.num_feature = static_cast<int>(data.cols);
  m.specs = specs;
  const int64_t n = data.rows;
  Rng rng(seed);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.uniform_int(static_cast<uint64_t>(i + 1))]);
  const int d = meta_width(num_classes, specs.size());
  std::vector<double> meta(static_cast<size_t>(n * d));
  for (int f = 0; f < folds; ++f) {
    std::vector<int64_t> fit_rows, held;
    for (int64_t i = 0; i < n; ++i) (i % folds == f ? held : fit_rows).push_back(order[i]);
    const io::Table fit = take_rows(data, fit_rows), out = take_rows(data, held);
    for (size_t b = 0; b < specs.size(); ++b) {
      const auto model = train_learner(specs[b], fit, num_classes, seed + 1000 * f + b);
      const auto p = model->predict(out.values.data(), out.rows);
      for (size_t i = 0; i < held.size(); ++i) put_meta(p, num_classes, b, specs.size(), held[i], i, meta);
    }
  }
  // Meta-learner on the out-of-fold features.
  if (num_classes == 0) {
    std::vector<double> y(data.labels.begin(), data.labels.end());
    m.meta.push_back(fit_ridge(meta, y, d, meta_l2));
  } else {
    const int outputs = num_classes == 2 ? 1 : num_classes;
    for (int k = 0; k < outputs; ++k) {
      std::vector<double> y(static_cast<size_t>(n));
      const int positive = num_classes == 2 ? 1 : k;
      for (int64_t i = 0; i < n; ++i) y[i] = data.labels[i] == positive ? 1.0 : 0.0;
      m.meta.push_back(fit_logistic(meta, y, d, meta_l2));
    }
  }
  result.oof_score = score_of(apply_meta(m.meta, meta, d, n, num_classes), data.labels, num_classes);
  for (size_t b = 0; b < specs.size(); ++b) m.bases.push_back(train_learner(specs[b], data, num_classes, seed + b));
  return result;
}

void save_ensemble(const EnsembleModel& m, const std::string& path) {
  json j;
  j["format"] = "rotor-ensemble";
  j["version"] = 1;
  j["method"] = m.method;
  j["num_classes"] = m.num_classes;
  j["num_feature"] = m.num_feature;
  j["meta"] = m.meta;
  json bases = json::array();
  for (size_t i = 0; i < m.bases.size(); ++i)
    bases.push_back({{"spec", m.specs[i].to_string()}, {"kind", m.bases[i]->kind()},
                     {"model", json::parse(m.bases[i]->to_json())}});
  j["bases"] = std::move(bases);
  io::write_file_atomic(path, j.dump() + "\n");
}

EnsembleModel load_ensemble(const std::string& path) {
  EnsembleModel m;
  try {
    const json j = json::parse(io::read_file(path));
    ROTOR_CHECK(j.value("format", "") == "rotor-ensemble" && j.value("version", 0) == 1, path,
                ": not a rotor-ensemble model (version 1)");
    m.method = j.at("method").get<std::string>();
    ROTOR_CHECK(m.method == "bagging" || m.method == "stacking", path, ": unknown method ", m.method);
    m.num_classes = j.at("num_classes").get<int>();
    m.num_feature = j.at("num_feature").get<int>();
    m.meta = j.at("meta").get<std::vector<std::vector<double>>>();
    for (const json& b : j.at("bases")) {
      m.specs.push_back(LearnerSpec::parse(b.at("spec").get<std::string>()));
      m.bases.push_back(any_model_from_json(b.at("kind").get<std::string>(), b.at("model").dump(),
                                            cat(path, ": base ", m.bases.size()), m.num_classes));
    }
    ROTOR_CHECK(!m.bases.empty(), path, ": has no base models");
    if (m.method == "stacking") {
      const int d = meta_width(m.num_classes, m.bases.size());
      const size_t outputs = m.num_classes > 2 ? static_cast<size_t>(m.num_classes) : 1;
      ROTOR_CHECK(m.meta.size() == outputs, path, ": meta-learner has ", m.meta.size(), " outputs, expected ", outputs);
      for (const auto& w : m.meta)
        ROTOR_CHECK(static_cast<int>(w.size()) == d + 1, path, ": meta-learner coefficients have the wrong length");
    }
  } catch (const json::exception& e) {
    throw Error(cat(path, ": not a valid ensemble model (", e.what(), ")"));
  }
  return m;
}

}  // namespace rotor::trees
