#include "rotor/trees/forest.h"

#include <cstring>
#include <functional>

#include "rotor/dist/comm.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rotor/core/error.h"
#include "rotor/core/parallel_error.h"
#include "rotor/core/rng.h"
#include "rotor/core/threads.h"
#include "rotor/io/atomic_file.h"
#include "rotor/trees/cart_json.h"
#include "rotor/trees/class_labels.h"
#include "rotor/trees/prediction_score.h"
#include "rotor/trees/table_digest.h"
#include "rotor/metrics/classification.h"

namespace rotor::trees {

int resolve_max_features(const std::string& spec, int cols, bool classification) {
  int n = 0;
  if (spec == "auto") n = classification ? static_cast<int>(std::sqrt(static_cast<double>(cols))) : cols;
  else if (spec == "sqrt") n = static_cast<int>(std::sqrt(static_cast<double>(cols)));
  else if (spec == "log2") n = static_cast<int>(std::log2(static_cast<double>(cols)));
  else if (spec == "all" || spec == "None") n = cols;
  else {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(spec, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    ROTOR_CHECK(used == spec.size() && v > 0, "max_features '", spec, "' is not sqrt, log2, a count or a fraction");
    if (spec.find('.') != std::string::npos) {
      ROTOR_CHECK(v <= 1.0, "max_features fraction ", spec, " is above 1");
      n = static_cast<int>(v * cols);  // scikit-learn: int(fraction * n_features)
    } else {
      ROTOR_CHECK(v <= cols, "max_features ", spec, " exceeds the ", cols, " features");
      n = static_cast<int>(v);
    }
  }
  return std::clamp(n, 1, cols);
}

void ForestModel::check_table(const io::Table& table) const {
  ROTOR_CHECK(table.cols == num_feature, table.source, ": has ", table.cols, " features, the model expects ",
              num_feature);
}

void ForestModel::prepare(io::Table& table) const {
  check_table(table);
  const int F = num_feature;
  for (size_t i = 0; i < table.values.size(); ++i) {
    if (!std::isnan(table.values[i])) continue;
    ROTOR_CHECK(!impute_values.empty(), table.source, ": row ", i / F + 1, " column ", i % F + 1,
                ": missing value (forests need complete data; train with --impute-median)");
    table.values[i] = impute_values[i % F];
  }
}

std::vector<float> ForestModel::predict(const float* values, int64_t rows) const {
  const int K = num_outputs();
  const int F = num_feature;
  std::vector<float> out(static_cast<size_t>(rows * K), 0.0f);
  const double scale = 1.0 / static_cast<double>(trees.size());
#pragma omp parallel for schedule(static) if (rows * static_cast<int64_t>(trees.size()) > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = values + r * F;
    std::vector<double> acc(static_cast<size_t>(K), 0.0);
    for (const CartTree& t : trees) {
      const double* v = t.value(t.leaf_for(x));
      if (classification) {
        double sum = 0;
        for (int k = 0; k < K; ++k) sum += v[k];
        for (int k = 0; k < K; ++k) acc[k] += v[k] / sum;
      } else {
        acc[0] += v[0];
      }
    }
    for (int k = 0; k < K; ++k) out[static_cast<size_t>(r * K + k)] = static_cast<float>(acc[k] * scale);
  }
  return out;
}

namespace {

// Maps labels to class indices (classification) and checks them.
std::vector<float> class_targets(const io::Table& t, std::vector<float>& classes) {
  check_class_labels(t.labels, t.source);
  classes = sorted_classes(t.labels);
  ROTOR_CHECK(classes.size() >= 2, t.source, ": classification needs at least 2 classes, found ", classes.size());
  ROTOR_CHECK(classes.size() <= 1024, t.source, ": too many classes (", classes.size(), ") for classification");
  return class_indices(t.labels, classes);
}

// Sends every rank's trees (those with mine(t)) to all ranks, into their places in `trees`.
void exchange_trees(std::vector<CartTree>& trees, const std::function<bool(int)>& mine) {
  std::string bytes;
  auto put = [&](const void* p, size_t n) { bytes.append(static_cast<const char*>(p), n); };
  for (size_t t = 0; t < trees.size(); ++t) {
    if (!mine(static_cast<int>(t))) continue;
    const CartTree& tree = trees[t];
    const int64_t header[3] = {static_cast<int64_t>(t), tree.num_outputs, static_cast<int64_t>(tree.nodes.size())};
    put(header, sizeof header);
    put(tree.nodes.data(), tree.nodes.size() * sizeof(CartNode));
    put(tree.values.data(), tree.values.size() * sizeof(double));
  }
  const std::string all = dist::allgather_concat(bytes);
  size_t at = 0;
  auto get = [&](void* p, size_t n) {
    ROTOR_CHECK(at + n <= all.size(), "forest: truncated tree exchange between ranks");
    std::memcpy(p, all.data() + at, n);
    at += n;
  };
  while (at < all.size()) {
    int64_t header[3];
    get(header, sizeof header);
    ROTOR_CHECK(header[0] >= 0 && header[0] < static_cast<int64_t>(trees.size()), "forest: bad tree index ", header[0],
                " from another rank");
    CartTree& tree = trees[static_cast<size_t>(header[0])];
    tree.num_outputs = static_cast<int>(header[1]);
    tree.nodes.resize(static_cast<size_t>(header[2]));
    tree.values.resize(static_cast<size_t>(header[2] * header[1]));
    get(tree.nodes.data(), tree.nodes.size() * sizeof(CartNode));
    get(tree.values.data(), tree.values.size() * sizeof(double));
  }
}

}  // namespace

ForestResult train_forest(const io::Table& train, const ForestParams& params, bool classification,
                          const ForestCheckpointHooks& checkpoints) {
  ROTOR_CHECK(params.trees >= 1, "trees must be >= 1, got ", params.trees);
  ROTOR_CHECK(static_cast<int64_t>(train.labels.size()) == train.rows, train.source, ": has no labels");
  const int F = static_cast<int>(train.cols);
  const int64_t n = train.rows;
  ForestResult result;
  ForestModel& model = result.model;
  model.classification = classification;
  model.num_feature = F;
  std::vector<float> targets = classification ? class_targets(train, model.classes) : train.labels;
  const int num_classes = classification ? static_cast<int>(model.classes.size()) : 0;
  CartParams cp = params.tree;
  cp.max_features = resolve_max_features(params.max_features, F, classification);
  io::Table imputed;
  const io::Table* data = &train;
  if (params.impute_median) {
    model.impute_values.assign(static_cast<size_t>(F), 0.0f);
    for (int f = 0; f < F; ++f) {
      std::vector<float> col;
      for (int64_t r = 0; r < n; ++r)
        if (!std::isnan(train.at(r, f))) col.push_back(train.at(r, f));
      if (col.empty()) continue;
      std::sort(col.begin(), col.end());
      const size_t m = col.size();
      model.impute_values[f] = m % 2 ? col[m / 2] : (col[m / 2 - 1] + col[m / 2]) / 2;
    }
    imputed = train;
    model.prepare(imputed);
    data = &imputed;
  }
  for (float v : data->values)
    ROTOR_CHECK(!std::isnan(v), train.source, ": has missing values (trees and forests need complete data; use --impute-median)");
  const io::Table& X = *data;

  model.trees.resize(static_cast<size_t>(params.trees));
  std::vector<std::vector<double>> counts(params.bootstrap ? params.trees : 0);
  Rng root(params.seed);
  std::vector<uint64_t> seeds(static_cast<size_t>(params.trees));
  for (uint64_t& s : seeds) s = root.next_u64();
  const bool checkpointing = checkpoints.every > 0 || checkpoints.stop_at > 0 || checkpoints.resume;
  const std::string digest = checkpointing ? table_digest(train, 0, false) : std::string();  // every rank: all rows
  int first = 0;  // trees [0, first) come from the resumed checkpoint
  if (const ForestCheckpoint* c = checkpoints.resume) {
    ROTOR_CHECK(c->data_digest == digest, "the checkpoint was saved by a run on other training rows (digest ",
                c->data_digest, ", these rows ", digest, ")");
    const ForestModel& saved = c->partial;
    ROTOR_CHECK(saved.classification == classification && saved.classes == model.classes &&
                    saved.num_feature == F && saved.impute_values == model.impute_values,
                "the checkpoint's forest (", saved.num_feature, " features, ", saved.classes.size(),
                " classes) is not of this run (", F, " features, ", model.classes.size(), " classes)");
    ROTOR_CHECK(c->trees_done <= params.trees && saved.trees.size() == static_cast<size_t>(c->trees_done),
                "the checkpoint holds ", saved.trees.size(), " trees (", c->trees_done,
                " done), which does not fit a forest of ", params.trees, " trees");
    first = c->trees_done;
    std::copy(saved.trees.begin(), saved.trees.end(), model.trees.begin());
  }
  const int end = checkpoints.stop_at > 0 ? std::min(checkpoints.stop_at, params.trees) : params.trees;
  // Trees are independent: each has its own generator, so the forest does not depend on threads.
  FirstError error;  // fit_cart checks its parameters and data; its Error must not leave the region
  const bool dist_on = params.distributed && dist::distributed();
  auto mine = [&](int t) { return !dist_on || t % dist::size() == dist::rank(); };
  // Tree t's row weights: its bootstrap counts (the first draws of its generator) times the weights.
  auto sample_weights = [&](Rng& rng) {
    std::vector<double> w;
    if (params.bootstrap) {
      w.assign(static_cast<size_t>(n), 0.0);
      for (int64_t i = 0; i < n; ++i) w[rng.uniform_int(static_cast<uint64_t>(n))] += 1.0;
      if (!train.weights.empty())
        for (int64_t i = 0; i < n; ++i) w[i] *= train.weights[i];
    } else if (!train.weights.empty()) {
      w.assign(train.weights.begin(), train.weights.end());
    }
    return w;
  };
  const int group = checkpoints.every > 0 ? checkpoints.every : std::max(1, end - first);
  for (int begin = first; begin < end; begin += group) {
    const int stop = std::min(end, begin + group);
    auto grown_here = [&](int t) { return t >= begin && t < stop && mine(t); };
#pragma omp parallel for schedule(dynamic, 1) if (stop - begin > 1)
    for (int t = begin; t < stop; ++t) error.run([&] {
      if (!mine(t)) return;
      Rng rng(seeds[t]);
      std::vector<double> w = sample_weights(rng);
      model.trees[t] = fit_cart(X.values.data(), n, F, targets.data(), w.empty() ? nullptr : w.data(), num_classes,
                                cp, rng);
      if (params.bootstrap) counts[t] = std::move(w);
    });
    if (dist_on) {
      std::string problem;
      try {
        error.rethrow();
      } catch (const Error& e) {
        problem = e.what();
      }
      dist::agree(problem, "", "");
      exchange_trees(model.trees, grown_here);
    }
    error.rethrow();
    if (checkpoints.save && (checkpoints.every > 0 || stop < params.trees)) {
      ForestCheckpoint c;
      c.trees_done = stop;
      c.partial = model;
      c.partial.trees.resize(static_cast<size_t>(stop));
      c.data_digest = digest;
      checkpoints.save(c);
    }
  }
  if (end < params.trees) {
    result.stopped = true;
    return result;
  }
  if (params.bootstrap)  // the bootstrap counts of trees grown elsewhere (other ranks, the resumed run)
    for (int t = 0; t < params.trees; ++t)
      if (counts[t].empty()) {
        Rng rng(seeds[t]);
        counts[t] = sample_weights(rng);
      }
  // Importances: the mean of each tree's normalized impurity decrease, normalized again.
  model.importances.assign(static_cast<size_t>(F), 0.0);
  for (const CartTree& t : model.trees) {
    const auto imp = impurity_importances(t, F);
    for (int f = 0; f < F; ++f) model.importances[f] += imp[f];
  }
  const double sum = std::accumulate(model.importances.begin(), model.importances.end(), 0.0);
  if (sum > 0)
    for (double& v : model.importances) v /= sum;
  // Out-of-bag predictions: each row averaged over the trees that did not draw it.
  if (params.bootstrap) {
    const int K = model.num_outputs();
    std::vector<double> oob(static_cast<size_t>(n * K), 0.0);
    std::vector<int> votes(static_cast<size_t>(n), 0);
#pragma omp parallel for schedule(static) if (n * params.trees > kParallelThreshold)
    for (int64_t r = 0; r < n; ++r) {
      const float* x = X.values.data() + r * F;
      for (int t = 0; t < params.trees; ++t) {
        if (counts[t][r] != 0.0) continue;
        const CartTree& tree = model.trees[t];
        const double* v = tree.value(tree.leaf_for(x));
        double s = 0;
        if (classification)
          for (int k = 0; k < K; ++k) s += v[k];
        for (int k = 0; k < K; ++k) oob[static_cast<size_t>(r * K + k)] += classification ? v[k] / s : v[k];
        ++votes[r];
      }
    }
    std::vector<char> use(static_cast<size_t>(n));
    std::vector<float> pred(static_cast<size_t>(n * K));
    std::vector<float> labels01, scores;
    int64_t correct = 0;
    for (int64_t r = 0; r < n; ++r) {
      use[r] = votes[r] > 0;
      if (!use[r]) continue;
      ++result.oob_rows;
      for (int k = 0; k < K; ++k) pred[static_cast<size_t>(r * K + k)] = static_cast<float>(oob[r * K + k] / votes[r]);
      if (classification) {
        const float* p = pred.data() + r * K;
        correct += (std::max_element(p, p + K) - p) == static_cast<int64_t>(targets[r]);
        if (K == 2) {
          labels01.push_back(targets[r]);
          scores.push_back(p[1]);
        }
      }
    }
    if (result.oob_rows > 0) {
      if (classification) {
        result.oob_score = static_cast<double>(correct) / static_cast<double>(result.oob_rows);
        if (K == 2) {
          try {
            result.oob_auc = metrics::auc(labels01.data(), scores.data(), nullptr, static_cast<int64_t>(scores.size()));
          } catch (const Error&) {
            result.oob_auc = -1;
          }
        }
      } else {
        result.oob_score = r2_score(targets, pred, &use);
      }
    }
  }
  return result;
}

double forest_score(const ForestModel& model, const io::Table& input) {
  io::Table table = input;
  model.prepare(table);
  ROTOR_CHECK(static_cast<int64_t>(table.labels.size()) == table.rows, table.source, ": has no labels");
  return prediction_score(model.classification, model.classes, table.labels,
                          model.predict(table.values.data(), table.rows));
}

std::vector<double> permutation_importance(const ForestModel& model, const io::Table& table, int repeats,
                                           uint64_t seed) {
  ROTOR_CHECK(repeats >= 1, "repeats must be >= 1");
  const double base = forest_score(model, table);
  const int F = model.num_feature;
  std::vector<double> out(static_cast<size_t>(F), 0.0);
  Rng rng(seed);
  io::Table shuffled = table;
  std::vector<int64_t> order(static_cast<size_t>(table.rows));
  for (int f = 0; f < F; ++f) {
    for (int rep = 0; rep < repeats; ++rep) {
      std::iota(order.begin(), order.end(), 0);
      for (int64_t i = table.rows - 1; i > 0; --i)
        std::swap(order[i], order[rng.uniform_int(static_cast<uint64_t>(i + 1))]);
      for (int64_t r = 0; r < table.rows; ++r) shuffled.values[r * F + f] = table.values[order[r] * F + f];
      out[f] += (base - forest_score(model, shuffled)) / repeats;
    }
    for (int64_t r = 0; r < table.rows; ++r) shuffled.values[r * F + f] = table.values[r * F + f];
  }
  return out;
}

using nlohmann::json;

std::string forest_to_json(const ForestModel& m) {
  json j;
  j["format"] = "rotor-forest";
  j["version"] = 1;
  j["task"] = m.classification ? "classification" : "regression";
  j["classes"] = m.classes;
  j["num_feature"] = m.num_feature;
  j["importances"] = m.importances;
  j["impute_values"] = m.impute_values;
  json trees = json::array();
  for (const CartTree& t : m.trees) trees.push_back(cart_tree_to_json(t, /*with_node_stats=*/true));
  j["trees"] = std::move(trees);
  return j.dump();
}

std::string forest_checkpoint_to_json(const ForestCheckpoint& c) {
  json j;
  j["format"] = "rotor-forest-checkpoint";
  j["trees_done"] = c.trees_done;
  j["forest"] = json::parse(forest_to_json(c.partial));
  j["config"] = c.config;
  j["data_digest"] = c.data_digest;
  return j.dump() + "\n";
}

ForestCheckpoint forest_checkpoint_from_json(const std::string& text, const std::string& source) {
  ForestCheckpoint c;
  try {
    const json j = json::parse(text);
    ROTOR_CHECK(j.value("format", "") == "rotor-forest-checkpoint", source, ": not a forest checkpoint");
    c.trees_done = j.at("trees_done").get<int>();
    ROTOR_CHECK(c.trees_done >= 1, source, ": trees_done is ", c.trees_done, ", expected >= 1");
    c.partial = forest_from_json_text(j.at("forest").dump(), source);
    c.config = j.at("config").get<std::string>();
    c.data_digest = j.at("data_digest").get<std::string>();
  } catch (const json::exception& e) {
    throw Error(cat(source, ": not a valid forest checkpoint (", e.what(), ")"));
  }
  return c;
}

void save_forest(const ForestModel& m, const std::string& path) {
  io::write_file_atomic(path, forest_to_json(m) + "\n");
}

ForestModel load_forest(const std::string& path) { return forest_from_json_text(io::read_file(path), path); }

ForestModel forest_from_json_text(const std::string& text, const std::string& path) {
  ForestModel m;
  try {
    const json j = json::parse(text);
    ROTOR_CHECK(j.value("format", "") == "rotor-forest" && j.value("version", 0) == 1, path,
                ": not a rotor-forest model (version 1)");
    m.classification = j.at("task").get<std::string>() == "classification";
    m.classes = j.at("classes").get<std::vector<float>>();
    m.num_feature = j.at("num_feature").get<int>();
    m.importances = j.at("importances").get<std::vector<double>>();
    if (j.contains("impute_values")) m.impute_values = j["impute_values"].get<std::vector<float>>();
    ROTOR_CHECK(m.impute_values.empty() || static_cast<int>(m.impute_values.size()) == j.at("num_feature").get<int>(),
                path, ": impute_values has the wrong length");
    ROTOR_CHECK(m.num_feature > 0, path, ": num_feature is ", m.num_feature);
    ROTOR_CHECK(!m.classification || m.classes.size() >= 2, path, ": a classifier needs >= 2 classes");
    const int K = m.num_outputs();
    for (const json& jt : j.at("trees")) {
      const std::string where = cat(path, ": tree ", m.trees.size());
      m.trees.push_back(cart_tree_from_json(jt, K, m.num_feature, where));
    }
    ROTOR_CHECK(!m.trees.empty(), path, ": has no trees");
  } catch (const json::exception& e) {
    throw Error(cat(path, ": not a valid forest model (", e.what(), ")"));
  }
  return m;
}

}  // namespace rotor::trees
