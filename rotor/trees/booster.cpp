#include "rotor/trees/booster.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/core/threads.h"
#include "rotor/dist/comm.h"
#include "rotor/metrics/classification.h"
#include "rotor/trees/objective.h"
#include "rotor/trees/table_digest.h"

namespace rotor::trees {

std::string RoundEval::to_string() const {
  std::string s;
  for (const auto& [name, v] : values) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%s=%.6f", s.empty() ? "" : " ", name.c_str(), v);
    s += buf;
  }
  return s;
}

namespace {

void check_params(const BoostParams& p) {
  ROTOR_CHECK(p.rounds >= 0, "rounds must be >= 0, got ", p.rounds);
  ROTOR_CHECK(p.tree.eta > 0, "eta must be > 0, got ", p.tree.eta);
  ROTOR_CHECK(p.tree.max_depth >= 0, "max_depth must be >= 0, got ", p.tree.max_depth);
  ROTOR_CHECK(p.tree.max_leaves >= 0, "max_leaves must be >= 0, got ", p.tree.max_leaves);
  ROTOR_CHECK(p.tree.max_leaves == 0 || p.tree.max_leaves >= 2, "max_leaves must be 0 or >= 2, got ",
              p.tree.max_leaves);
  ROTOR_CHECK(p.tree.penalty.lambda >= 0, "lambda must be >= 0, got ", p.tree.penalty.lambda);
  ROTOR_CHECK(p.tree.penalty.alpha >= 0, "alpha must be >= 0, got ", p.tree.penalty.alpha);
  ROTOR_CHECK(p.tree.penalty.min_child_weight >= 0, "min_child_weight must be >= 0, got ",
              p.tree.penalty.min_child_weight);
  ROTOR_CHECK(p.tree.penalty.max_delta_step >= 0, "max_delta_step must be >= 0, got ", p.tree.penalty.max_delta_step);
  ROTOR_CHECK(p.tree.gamma >= 0, "gamma must be >= 0, got ", p.tree.gamma);
  for (double f : {p.subsample, p.colsample_bytree, p.tree.colsample_bylevel, p.tree.colsample_bynode})
    ROTOR_CHECK(f > 0 && f <= 1, "subsample/colsample fractions must be in (0, 1], got ", f);
  ROTOR_CHECK(p.early_stopping_rounds >= 0, "early_stopping_rounds must be >= 0");
  for (int c : p.tree.monotone) ROTOR_CHECK(c >= -1 && c <= 1, "monotone constraint ", c, " is not -1, 0 or 1");
}

// Margins of a binned table, updated tree by tree during training.
struct EvalData {
  std::string name;
  const io::Table* table;
  BinnedMatrix bins;
  std::vector<float> margins;  // [rows, K]
};

void add_tree_binned(const Tree& tree, int k, int K, const BinnedMatrix& X, std::vector<float>& margins) {
#pragma omp parallel for schedule(static) if (X.rows * 8 > kParallelThreshold)
  for (int64_t r = 0; r < X.rows; ++r)
    margins[static_cast<size_t>(r * K + k)] += tree.nodes[tree.leaf_for_bins(X.row(r))].value;
}


// A tree read back from JSON knows its thresholds, not the bins they came from: each split's split_bin
// is the bin whose threshold (cuts.threshold) is the saved one. A threshold no bin gives means the tree
// was grown on other data or cuts.
void restore_split_bins(Tree& tree, const BinCuts& cuts) {
  for (TreeNode& node : tree.nodes) {
    if (node.is_leaf()) continue;
    ROTOR_CHECK(node.feature >= 0 && node.feature < cuts.num_features(), "a checkpoint tree splits on feature ",
                node.feature, " of ", cuts.num_features());
    int found = -2;
    for (int b = -1; b < cuts.num_bins(node.feature) && found == -2; ++b)
      if (cuts.threshold(node.feature, b) == node.threshold) found = b;
    ROTOR_CHECK(found != -2, "a checkpoint tree's threshold ", node.threshold, " on feature ", node.feature,
                " is not one of this data's bin bounds (another data set?)");
    node.split_bin = static_cast<int16_t>(found);
  }
}

// Every rank's floats, concatenated in rank order.
std::vector<float> gather_floats(const std::vector<float>& mine) {
  const std::string all = dist::allgather_concat(
      std::string(reinterpret_cast<const char*>(mine.data()), mine.size() * sizeof(float)));
  std::vector<float> out(all.size() / sizeof(float));
  std::memcpy(out.data(), all.data(), out.size() * sizeof(float));
  return out;
}

void check_training_inputs(const io::Table& train, const io::Table* valid, const BoostParams& params,
                           std::unique_ptr<Objective>& objective) {
  ROTOR_CHECK(static_cast<int64_t>(train.labels.size()) == train.rows, train.source, ": has no labels");
  ROTOR_CHECK(train.rows < (int64_t{1} << 32), train.source, ": too many rows (", train.rows, ")");
  ROTOR_CHECK(params.early_stopping_rounds == 0 || valid, "early stopping needs a validation set");
  ObjectiveParams op;
  op.num_class = params.num_class;
  op.huber_slope = params.huber_slope;
  op.quantile_alpha = params.quantile_alpha;
  objective = make_objective(params.objective, op);
  objective->check_labels(train.labels, train.source);
  if (valid) {
    ROTOR_CHECK(valid->cols == train.cols, valid->source, ": has ", valid->cols, " features, the training data has ",
                train.cols);
    ROTOR_CHECK(static_cast<int64_t>(valid->labels.size()) == valid->rows, valid->source, ": has no labels");
    objective->check_labels(valid->labels, valid->source);
  }
  ROTOR_CHECK(!params.distributed || objective->leaf_quantile() <= 0, "objective ", params.objective,
              " (leaf re-fit to residual quantiles) is not supported in distributed training");
}

}  // namespace

std::vector<int> parse_monotone(const std::string& text) {
  std::vector<int> out;
  std::string cell;
  for (char ch : text + ",") {
    if (ch == '(' || ch == ')' || ch == ' ') continue;
    if (ch != ',') {
      cell += ch;
      continue;
    }
    if (cell.empty()) continue;
    ROTOR_CHECK(cell == "1" || cell == "-1" || cell == "0", "monotone constraint '", cell, "' is not -1, 0 or 1");
    out.push_back(std::stoi(cell));
    cell.clear();
  }
  return out;
}

TrainResult train_booster(const io::Table& train, const io::Table* valid, const BoostParams& params,
                          const RoundCallback& on_round, const CheckpointHooks& checkpoints) {
  const bool dist_on = params.distributed && dist::distributed();
  // Distributed, a rank whose checks fail must not leave the others waiting: the checks' outcome and
  // the data's width are agreed on before the first collective of training.
  std::string problem;
  std::unique_ptr<Objective> objective;
  try {
    check_params(params);
    check_training_inputs(train, valid, params, objective);
  } catch (const Error& e) {
    if (!dist_on) throw;
    problem = e.what();
  }
  if (dist_on) dist::agree(problem, cat(train.cols, " features"), "the number of features");
  const int K = objective->num_outputs();
  std::vector<std::string> metric_names = params.eval_metrics;
  if (metric_names.empty()) metric_names = objective->default_metrics();

  TrainResult result;
  BoostModel& model = result.model;
  model.objective = objective->name();
  model.num_class = K > 1 ? K : 0;
  model.num_feature = static_cast<int>(train.cols);
  model.base_score = params.base_score;
  model.base_margin = objective->base_margin(params.base_score);
  model.huber_slope = params.huber_slope;
  model.quantile_alpha = params.quantile_alpha;
  model.feature_names = train.feature_names;

  const int64_t n = train.rows;
  Rng rng(params.seed);
  const BinCuts cuts = dist_on ? compute_cuts_distributed(train, params.max_bin, int64_t{1} << 18, params.seed)
                               : compute_cuts(train, params.max_bin, int64_t{1} << 18, params.seed);
  // Distributed: this rank's rows are global rows [row_offset, row_offset + n) of global_rows.
  int64_t row_offset = 0, global_rows = n;
  std::vector<float> global_labels, global_weights;  // all ranks' rows, for training metrics
  if (dist_on) {
    std::vector<int64_t> counts(static_cast<size_t>(dist::size()), 0);
    counts[static_cast<size_t>(dist::rank())] = n;
    dist::allreduce_sum(counts.data(), counts.size());
    global_rows = 0;
    for (int r = 0; r < dist::size(); ++r) {
      if (r < dist::rank()) row_offset += counts[r];
      global_rows += counts[r];
    }
    if (params.eval_train) {
      global_labels = gather_floats(train.labels);
      global_weights = gather_floats(train.weights);
    }
  }
  const BinnedMatrix X = bin_table(train, cuts);
  std::vector<EvalData> evals;
  if (params.eval_train) evals.push_back({"train", &train, {}, {}});
  if (valid) evals.push_back({"valid", valid, bin_table(*valid, cuts), {}});
  for (EvalData& e : evals) e.margins.assign(static_cast<size_t>(e.table->rows * K), model.base_margin);

  std::vector<float> margins(static_cast<size_t>(n * K), model.base_margin);
  std::vector<GradPair> gpair(static_cast<size_t>(n * K));
  const float* weights = train.weights.empty() ? nullptr : train.weights.data();
  std::vector<int> all_features(static_cast<size_t>(train.cols));
  for (int f = 0; f < static_cast<int>(train.cols); ++f) all_features[f] = f;
  std::vector<uint32_t> all_rows(static_cast<size_t>(n)), rows;
  for (int64_t i = 0; i < n; ++i) all_rows[i] = static_cast<uint32_t>(i);
  std::vector<char> in_sample;
  HistTreeBuilder builder(X, cuts);
  builder.set_distributed(dist_on);
  TreeParams tree_params = params.tree;
  ROTOR_CHECK(tree_params.monotone.empty() || static_cast<int64_t>(tree_params.monotone.size()) == train.cols,
              "monotone constraints: ", tree_params.monotone.size(), " given, the data has ", train.cols, " features");
  if (model.objective == "count:poisson" && !params.max_delta_step_given) tree_params.penalty.max_delta_step = 0.7;

  const std::string stop_metric = metric_names.back();  // XGBoost stops on the last metric
  const bool larger_better = metrics::larger_is_better(stop_metric);
  int rounds_without_gain = 0;
  int first_round = 0;
  const bool checkpointing = checkpoints.every > 0 || checkpoints.stop_at > 0 || checkpoints.resume;
  const std::string digest = checkpointing ? table_digest(train, row_offset, dist_on) : std::string();
  if (const BoostCheckpoint* c = checkpoints.resume) {
    ROTOR_CHECK(c->data_digest == digest, "the checkpoint was saved by a run on other training rows (digest ",
                c->data_digest, ", these rows ", digest, ")");
    ROTOR_CHECK(c->model.objective == model.objective && c->model.num_class == model.num_class &&
                    c->model.num_feature == model.num_feature && c->model.base_margin == model.base_margin,
                "the checkpoint's model (", c->model.objective, ", ", c->model.num_feature,
                " features) is not of this run (", model.objective, ", ", model.num_feature, " features)");
    ROTOR_CHECK(c->rounds_done <= params.rounds && c->model.trees.size() == static_cast<size_t>(c->rounds_done) * K,
                "the checkpoint holds ", c->model.trees.size(), " trees after ", c->rounds_done,
                " rounds, which does not fit a run of ", params.rounds, " rounds of ", K, " trees");
    model.trees = c->model.trees;
    model.tree_class = c->model.tree_class;
    for (Tree& tree : model.trees) restore_split_bins(tree, cuts);
    for (size_t t = 0; t < model.trees.size(); ++t) {
      const Tree& tree = model.trees[t];
      const int k = model.tree_class[t];
      add_tree_binned(tree, k, K, X, margins);
      for (EvalData& e : evals)
        if (e.name != "train") add_tree_binned(tree, k, K, e.bins, e.margins);
    }
    result.history = c->history;
    result.best_iteration = c->best_iteration;
    result.best_score = c->best_score;
    rounds_without_gain = c->rounds_without_gain;
    rng.set_state({{c->rng[0], c->rng[1], c->rng[2], c->rng[3]}, false, 0.0});
    first_round = c->rounds_done;
  }
  std::vector<float> preds;
  for (int round = first_round; round < params.rounds; ++round) {
    objective->gradients(margins.data(), train.labels.data(), weights, n, gpair.data());
    if (params.subsample < 1.0) {
      rows.clear();
      in_sample.assign(static_cast<size_t>(n), 0);
      // One draw per global row, in row order: the other ranks' rows are drawn and skipped.
      for (int64_t i = 0; i < row_offset; ++i) rng.uniform();
      for (int64_t i = 0; i < n; ++i)
        if (rng.uniform() < params.subsample) {
          rows.push_back(static_cast<uint32_t>(i));
          in_sample[i] = 1;
        }
      for (int64_t i = row_offset + n; i < global_rows; ++i) rng.uniform();
    }
    const std::vector<uint32_t>& round_rows = params.subsample < 1.0 ? rows : all_rows;
    for (int k = 0; k < K; ++k) {
      const std::vector<int> features = sample_features(all_features, params.colsample_bytree, rng);
      Tree tree = builder.build(gpair.data() + static_cast<int64_t>(k) * n, round_rows, features, tree_params, rng);
      // Training margins: rows of the sample through the partition, the others by traversal.
      const std::vector<uint32_t>& part = builder.partitioned_rows();
      const int num_nodes = static_cast<int>(tree.nodes.size());
      if (const double q = objective->leaf_quantile(); q > 0) {
        // Re-fit each leaf to the weighted q-quantile of its rows' residuals.
        std::vector<std::pair<float, float>> res;
        for (int node = 0; node < num_nodes; ++node) {
          if (!tree.nodes[node].is_leaf() || builder.node_begin(node) == builder.node_end(node)) continue;
          res.clear();
          double total = 0;
          for (int64_t i = builder.node_begin(node); i < builder.node_end(node); ++i) {
            const uint32_t r = part[i];
            const float w = weights ? weights[r] : 1.0f;
            res.emplace_back(train.labels[r] - margins[static_cast<size_t>(r) * K + k], w);
            total += w;
          }
          std::sort(res.begin(), res.end());
          double cum = 0;
          float value = res.back().first;
          for (const auto& [v, w] : res) {
            cum += w;
            if (cum >= q * total) {
              value = v;
              break;
            }
          }
          tree.nodes[node].value = static_cast<float>(value * params.tree.eta);
        }
      }
#pragma omp parallel for schedule(dynamic, 1) if (n > kParallelThreshold)
      for (int node = 0; node < num_nodes; ++node) {
        if (!tree.nodes[node].is_leaf()) continue;
        const float v = tree.nodes[node].value;
        for (int64_t i = builder.node_begin(node); i < builder.node_end(node); ++i)
          margins[static_cast<size_t>(part[i]) * K + k] += v;
      }
      if (params.subsample < 1.0) {
#pragma omp parallel for schedule(static) if (n > kParallelThreshold)
        for (int64_t r = 0; r < n; ++r)
          if (!in_sample[r]) margins[static_cast<size_t>(r * K + k)] += tree.nodes[tree.leaf_for_bins(X.row(r))].value;
      }
      for (EvalData& e : evals) {
        if (e.name == "train") continue;
        add_tree_binned(tree, k, K, e.bins, e.margins);
      }
      model.trees.push_back(std::move(tree));
      model.tree_class.push_back(k);
    }
    // After the round's trees (and its evaluation, below): a checkpoint when one is due.
    // Returns whether the run stops here (--stop-at).
    auto checkpoint = [&] {
      const bool stop = checkpoints.stop_at == round + 1 && round + 1 < params.rounds;
      const bool due = checkpoints.every > 0 && (round + 1) % checkpoints.every == 0 && round + 1 < params.rounds;
      if (!stop && !due) return false;
      BoostCheckpoint c;
      c.rounds_done = round + 1;
      c.model = model;
      c.history = result.history;
      c.best_iteration = result.best_iteration;
      c.best_score = result.best_score;
      c.rounds_without_gain = rounds_without_gain;
      c.data_digest = digest;
      const Rng::State st = rng.state();
      ROTOR_CHECK(!st.has_spare, "internal: the booster's generator holds a spare normal");
      std::copy(st.s, st.s + 4, c.rng);
      ROTOR_CHECK(checkpoints.save, "internal: a checkpoint is due and there is no save hook");
      checkpoints.save(c);
      return stop;
    };
    if (evals.empty()) {
      if (on_round) on_round(RoundEval{round, {}});
      if (checkpoint()) {
        result.stopped = true;
        return result;
      }
      continue;
    }
    RoundEval ev{round, {}};
    for (EvalData& e : evals) {
      const bool all_ranks = dist_on && e.name == "train";  // the training rows of every rank
      const std::vector<float>& m = e.name == "train" ? margins : e.margins;
      preds = all_ranks ? gather_floats(m) : m;
      objective->transform(preds.data(), all_ranks ? global_rows : e.table->rows);
      for (const std::string& metric : metric_names)
        ev.values.emplace_back(e.name + "-" + metric,
                               metrics::evaluate(metric, all_ranks ? global_labels : e.table->labels, preds,
                                                 model.num_class, all_ranks ? global_weights : e.table->weights));
    }
    result.history.push_back(ev);
    if (on_round) on_round(ev);
    if (valid) {
      const double score = ev.values.back().second;
      const bool better = std::isnan(result.best_score) || (larger_better ? score > result.best_score : score < result.best_score);
      if (better) {
        result.best_score = score;
        result.best_iteration = round;
        rounds_without_gain = 0;
      } else if (params.early_stopping_rounds > 0 && ++rounds_without_gain >= params.early_stopping_rounds) {
        break;
      }
    }
    if (checkpoint()) {
      result.stopped = true;
      return result;
    }
  }
  if (params.early_stopping_rounds > 0 && result.best_iteration >= 0) {
    // Keep the trees up to the best round (what predict then uses).
    const size_t keep = static_cast<size_t>(result.best_iteration + 1) * K;
    model.trees.resize(keep);
    model.tree_class.resize(keep);
    model.best_iteration = result.best_iteration;
  }
  return result;
}

std::string checkpoint_to_json(const BoostCheckpoint& c) {
  nlohmann::json j;
  j["format"] = "rotor-boost-checkpoint";
  j["rounds_done"] = c.rounds_done;
  j["model"] = nlohmann::json::parse(model_to_json(c.model));
  nlohmann::json history = nlohmann::json::array();
  for (const RoundEval& ev : c.history) {
    nlohmann::json values = nlohmann::json::array();
    for (const auto& [name, v] : ev.values) values.push_back({name, v});
    history.push_back({{"round", ev.round}, {"values", values}});
  }
  j["history"] = history;
  j["best_iteration"] = c.best_iteration;
  j["best_score"] = std::isnan(c.best_score) ? nlohmann::json(nullptr) : nlohmann::json(c.best_score);
  j["rounds_without_gain"] = c.rounds_without_gain;
  j["rng"] = std::vector<uint64_t>(c.rng, c.rng + 4);
  j["config"] = c.config;
  j["data_digest"] = c.data_digest;
  return j.dump();
}

BoostCheckpoint checkpoint_from_json(const std::string& text, const std::string& source) {
  BoostCheckpoint c;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    ROTOR_CHECK(j.value("format", "") == "rotor-boost-checkpoint", "not a boosting checkpoint");
    c.rounds_done = j.at("rounds_done").get<int>();
    c.model = model_from_json_text(j.at("model").dump(), source);
    for (const auto& ev : j.at("history")) {
      RoundEval r{ev.at("round").get<int>(), {}};
      for (const auto& v : ev.at("values")) r.values.emplace_back(v.at(0).get<std::string>(), v.at(1).get<double>());
      c.history.push_back(std::move(r));
    }
    c.best_iteration = j.at("best_iteration").get<int>();
    c.best_score = j.at("best_score").is_null() ? std::numeric_limits<double>::quiet_NaN()
                                                : j.at("best_score").get<double>();
    c.rounds_without_gain = j.at("rounds_without_gain").get<int>();
    const auto rng = j.at("rng").get<std::vector<uint64_t>>();
    ROTOR_CHECK(rng.size() == 4, "rng state has ", rng.size(), " words, not 4");
    std::copy(rng.begin(), rng.end(), c.rng);
    c.config = j.at("config").get<std::string>();
    c.data_digest = j.at("data_digest").get<std::string>();
    ROTOR_CHECK(c.rounds_done >= 0, "rounds_done is negative");
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat(source, ": not a valid boosting checkpoint (", e.what(), ")"));
  } catch (const Error& e) {
    throw Error(cat(source, ": ", e.what()));
  }
  return c;
}

}  // namespace rotor::trees
