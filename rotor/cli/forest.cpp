// `rotor forest train|predict|importance` (random forests / extra trees, scikit-learn's parameter
// names) and `rotor tree train|predict` (one CART tree with pruning). Both write rotor-forest models.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "rotor/cli/command.h"
#include "rotor/cli/dist_data.h"
#include "rotor/cli/table_options.h"
#include "rotor/core/error.h"
#include "rotor/dist/comm.h"
#include "rotor/io/atomic_file.h"
#include "rotor/metrics/classification.h"
#include "rotor/trees/forest.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct TrainArgs {
  std::string data, out, criterion, task = "classification";
  rotor::cli::TableArgs table;
  rotor::trees::ForestParams p;
  bool no_bootstrap = false;
  int threads = 0;
  rotor::cli::CheckpointArgs checkpoints;
};

void add_tree_options(CLI::App& cmd, TrainArgs& a) {
  cmd.add_option("--data", a.data, "training data (CSV or LibSVM; no missing values)")->required();
  cmd.add_option("--out", a.out, "where to write the model (JSON)")->required();
  a.table.add_to(cmd, true);
  cmd.add_option("--task", a.task, "classification or regression")
      ->check(CLI::IsMember({"classification", "regression"}))
      ->capture_default_str();
  cmd.add_option("--criterion", a.criterion, "gini, entropy (classification), squared_error (regression)");
  cmd.add_option("--max-depth,--max_depth", a.p.tree.max_depth, "maximum depth (0: unlimited)");
  cmd.add_option("--min-samples-split,--min_samples_split", a.p.tree.min_samples_split, "rows needed to split")
      ->capture_default_str();
  cmd.add_option("--min-samples-leaf,--min_samples_leaf", a.p.tree.min_samples_leaf, "rows needed in a leaf")
      ->capture_default_str();
  cmd.add_option("--min-impurity-decrease,--min_impurity_decrease", a.p.tree.min_impurity_decrease,
                 "weighted impurity decrease needed to split");
  cmd.add_option("--seed,--random-state", a.p.seed, "random seed");
  cmd.add_flag("--impute-median", a.p.impute_median, "fill missing values with the training median (kept in the model)");
  rotor::cli::add_threads_option(cmd, a.threads);
}

void apply_criterion(TrainArgs& a) {
  const bool classification = a.task == "classification";
  if (a.criterion.empty()) a.criterion = classification ? "gini" : "squared_error";
  a.p.tree.criterion = rotor::trees::parse_criterion(a.criterion);
  ROTOR_CHECK(classification != (a.p.tree.criterion == rotor::trees::Criterion::kSquaredError), "criterion ",
              a.criterion, " does not fit task ", a.task);
}

void write_predictions(const rotor::trees::ForestModel& model, const std::vector<float>& pred, int64_t rows,
                       const std::string& path) {
  const int K = model.num_outputs();
  rotor::io::AtomicFile out(path);
  std::string line;
  char buf[32];
  for (int64_t r = 0; r < rows; ++r) {
    line.clear();
    if (K == 2) {  // binary: the probability of the second (positive) class
      std::snprintf(buf, sizeof buf, "%.9g", pred[static_cast<size_t>(r * 2 + 1)]);
      line += buf;
    } else {
      for (int k = 0; k < K; ++k) {
        std::snprintf(buf, sizeof buf, k ? ",%.9g" : "%.9g", pred[static_cast<size_t>(r * K + k)]);
        line += buf;
      }
    }
    line += '\n';
    out.write(line);
  }
  out.commit();
}

struct PredictArgs {
  std::string model, data, out;
  rotor::cli::TableArgs table;
  int threads = 0;
};

void setup_predict(CLI::App& cmd, PredictArgs& a) {
  cmd.add_option("--model", a.model, "rotor-forest model")->required();
  cmd.add_option("--data", a.data, "data (training layout; the label column is optional)")->required();
  cmd.add_option("--out", a.out, "predictions: P(positive) for binary, class probabilities, or values")->required();
  a.table.add_to(cmd, false);
  rotor::cli::add_threads_option(cmd, a.threads);
  cmd.callback([&a] {
    const auto model = rotor::trees::load_forest(a.model);
    rotor::io::Table table = a.table.read(a.data);
    if (table.cols + 1 == model.num_feature && a.table.label_column >= 0 && a.table.format != "libsvm") {
      rotor::cli::TableArgs no_label = a.table;
      no_label.label_column = -1;
      table = no_label.read(a.data);
    }
    model.prepare(table);
    const auto t0 = std::chrono::steady_clock::now();
    const auto pred = model.predict(table.values.data(), table.rows);
    const double predict_s = seconds_since(t0);
    write_predictions(model, pred, table.rows, a.out);
    if (!table.labels.empty()) {
      std::printf("%s=%.6f\n", model.classification ? "accuracy" : "r2", rotor::trees::forest_score(model, table));
      if (model.classification && model.classes.size() == 2) {
        std::vector<float> y01(table.labels.size()), p1(table.labels.size());
        for (size_t i = 0; i < y01.size(); ++i) {
          y01[i] = table.labels[i] == model.classes[1] ? 1.0f : 0.0f;
          p1[i] = pred[i * 2 + 1];
        }
        try {
          std::printf("auc=%.6f\n", rotor::metrics::auc(y01.data(), p1.data(), nullptr, static_cast<int64_t>(y01.size())));
        } catch (const rotor::Error&) {
          std::printf("auc=nan\n");
        }
      }
    }
    std::printf("rows=%lld\n", static_cast<long long>(table.rows));
    std::printf("predict_s=%.3f\n", predict_s);
  });
}

// Under mpirun every rank reads all rows and grows its share of the trees; rank 0 writes the model. Every rank
// must hold the same configuration and data, or all of them stop with the same error.
// `problem`: what already went wrong on this rank (reported by all ranks the same way).
rotor::io::Table read_on_every_rank(TrainArgs& a, std::string problem = {}) {
  namespace dist = rotor::dist;
  a.p.distributed = dist::distributed();
  rotor::io::Table data;
  if (problem.empty()) data = rotor::cli::read_or_report(a.table, a.data, problem);
  dist::agree(problem, rotor::cli::command_line_fingerprint(), "the configuration (command line)");
  dist::agree("", rotor::cat(data.cols, " features, ", data.rows, " rows"), "the training data");
  return data;
}

void setup_forest(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  CLI::App& train = *cmd.add_subcommand("train", "train a random forest (or extra trees)");
  static TrainArgs a;
  add_tree_options(train, a);
  train.add_option("--trees,--n-estimators,--n_estimators", a.p.trees,
                   "number of trees (under mpirun, each rank grows a share of them)")->capture_default_str();
  train.add_option("--max-features,--max_features", a.p.max_features,
                   "features per split: sqrt (classification default), log2, N, FRACTION, all (regression default)");
  train.add_flag("--no-bootstrap", a.no_bootstrap, "grow every tree on all rows");
  train.add_flag("--extra-trees", a.p.tree.random_thresholds, "extremely randomized trees (random thresholds)");
  a.checkpoints.add_to(train, "trees");
  train.callback([] {
    apply_criterion(a);
    a.p.bootstrap = !a.no_bootstrap;
    namespace dist = rotor::dist;
    std::string problem;
    const rotor::trees::ForestCheckpoint resumed =
        a.checkpoints.read(&rotor::trees::forest_checkpoint_from_json, problem);
    const rotor::io::Table data = read_on_every_rank(a, problem);
    const bool lead = dist::rank() == 0;  // only rank 0 reports and writes
    const std::string checkpoint_path = a.out + ".checkpoint";
    const auto hooks = a.checkpoints.hooks<rotor::trees::ForestCheckpointHooks>(
        resumed, checkpoint_path, &rotor::trees::forest_checkpoint_to_json);
    const auto t0 = std::chrono::steady_clock::now();
    const auto result = rotor::trees::train_forest(data, a.p, a.task == "classification", hooks);
    const double train_s = seconds_since(t0);
    if (!lead) return;
    if (result.stopped) {
      std::printf("stopped after tree %d; run saved in %s (continue with --resume %s)\n", a.checkpoints.stop_at,
                  checkpoint_path.c_str(), checkpoint_path.c_str());
      return;
    }
    rotor::trees::save_forest(result.model, a.out);
    if (a.p.bootstrap) {
      std::printf("oob_%s=%.6f oob_rows=%lld\n", a.task == "classification" ? "accuracy" : "r2", result.oob_score,
                  static_cast<long long>(result.oob_rows));
      if (result.oob_auc >= 0) std::printf("oob_auc=%.6f\n", result.oob_auc);
    }
    if (dist::distributed()) std::printf("ranks=%d\n", dist::size());
    std::printf("trees=%zu rows=%lld features=%lld\n", result.model.trees.size(), static_cast<long long>(data.rows),
                static_cast<long long>(data.cols));
    std::printf("train_s=%.3f\n", train_s);
  });
  static PredictArgs pa;
  setup_predict(*cmd.add_subcommand("predict", "predict with a forest or tree model"), pa);
  CLI::App& imp = *cmd.add_subcommand("importance", "impurity and permutation feature importance");
  static std::string model_path, data_path;
  static rotor::cli::TableArgs table;
  static int repeats = 5, threads = 0;
  static uint64_t seed = 0;
  imp.add_option("--model", model_path, "rotor-forest model")->required();
  imp.add_option("--data", data_path, "labelled data for permutation importance (optional)");
  imp.add_option("--repeats", repeats, "shuffles per feature")->capture_default_str();
  imp.add_option("--seed", seed, "random seed");
  table.add_to(imp, false);
  rotor::cli::add_threads_option(imp, threads);
  imp.callback([] {
    const auto model = rotor::trees::load_forest(model_path);
    std::vector<double> perm;
    if (!data_path.empty()) perm = rotor::trees::permutation_importance(model, table.read(data_path), repeats, seed);
    std::printf("feature,impurity%s\n", perm.empty() ? "" : ",permutation");
    for (int f = 0; f < model.num_feature; ++f) {
      std::printf("%d,%.6f", f, model.importances[f]);
      if (!perm.empty()) std::printf(",%.6f", perm[f]);
      std::printf("\n");
    }
  });
}

void setup_tree(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  CLI::App& train = *cmd.add_subcommand("train", "train one CART decision tree");
  static TrainArgs a;
  add_tree_options(train, a);
  train.add_option("--ccp-alpha,--ccp_alpha", a.p.tree.ccp_alpha, "minimal cost-complexity pruning strength");
  train.callback([] {
    apply_criterion(a);
    a.p.trees = 1;
    a.p.bootstrap = false;
    a.p.max_features = "all";
    namespace dist = rotor::dist;
    const rotor::io::Table data = read_on_every_rank(a);
    const auto t0 = std::chrono::steady_clock::now();
    const auto result = rotor::trees::train_forest(data, a.p, a.task == "classification");
    const double train_s = seconds_since(t0);
    if (dist::rank() != 0) return;
    rotor::trees::save_forest(result.model, a.out);
    const auto& t = result.model.trees[0];
    std::printf("nodes=%zu leaves=%d depth=%d\n", t.nodes.size(), t.num_leaves(), t.depth());
    std::printf("train_%s=%.6f\n", a.task == "classification" ? "accuracy" : "r2",
                rotor::trees::forest_score(result.model, data));
    std::printf("train_s=%.3f\n", train_s);
  });
  static PredictArgs pa;
  setup_predict(*cmd.add_subcommand("predict", "predict with a tree model"), pa);
}

const bool registered_forest =
    rotor::cli::register_command("forest", "random forests and extremely randomized trees", setup_forest);
const bool registered_tree = rotor::cli::register_command("tree", "CART decision trees with pruning", setup_tree);

}  // namespace
