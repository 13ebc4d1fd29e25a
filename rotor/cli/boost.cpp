// `rotor boost train|predict`: second-order histogram gradient boosting (XGBoost's parameters).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "rotor/cli/command.h"
#include "rotor/cli/dist_data.h"
#include "rotor/cli/progress.h"
#include "rotor/cli/table_options.h"
#include "rotor/core/error.h"
#include "rotor/dist/comm.h"
#include "rotor/io/atomic_file.h"
#include "rotor/metrics/classification.h"
#include "rotor/trees/boost_model.h"
#include "rotor/trees/booster.h"
#include "rotor/trees/tree_shap.h"

namespace {

using rotor::cat;
using rotor::Error;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct TrainArgs {
  std::string data, valid, out;
  rotor::cli::TableArgs table;
  rotor::trees::BoostParams p;
  std::string grow_policy = "depthwise";
  int threads = 0;
  rotor::cli::CheckpointArgs checkpoints;
};

void setup_train(CLI::App& cmd) {
  static TrainArgs a;
  auto& p = a.p;
  cmd.add_option("--data", a.data,
                 "training data (CSV or LibSVM); under mpirun, a path with %d is a file per rank (%d = rank), "
                 "any other path is split into one row range per rank")
      ->required();
  cmd.add_option("--valid", a.valid, "validation data (same layout), evaluated every round");
  cmd.add_option("--out", a.out, "where to write the model (JSON)")->required();
  a.table.add_to(cmd, true);
  cmd.add_option("--objective", p.objective,
                 "reg:squarederror, binary:logistic, multi:softprob, count:poisson, reg:pseudohubererror, reg:quantileerror")
      ->capture_default_str();
  cmd.add_option("--num-class,--num_class", p.num_class, "classes (multi:softprob)");
  cmd.add_option("--rounds,--num-round,--num_boost_round,--n-estimators", p.rounds, "boosting rounds")
      ->capture_default_str();
  cmd.add_option("--max-depth,--max_depth", p.tree.max_depth, "maximum depth (0: unlimited)")->capture_default_str();
  cmd.add_option("--max-leaves,--max_leaves", p.tree.max_leaves, "maximum leaves (0: unlimited)");
  cmd.add_option("--grow-policy,--grow_policy", a.grow_policy, "depthwise or lossguide")
      ->check(CLI::IsMember({"depthwise", "lossguide"}));
  cmd.add_option("--eta,--learning-rate,--learning_rate", p.tree.eta, "shrinkage")->capture_default_str();
  cmd.add_option("--lambda,--reg-lambda,--reg_lambda", p.tree.penalty.lambda, "L2 penalty on leaf weights")
      ->capture_default_str();
  cmd.add_option("--alpha,--reg-alpha,--reg_alpha", p.tree.penalty.alpha, "L1 penalty on leaf weights");
  cmd.add_option("--gamma,--min-split-loss,--min_split_loss", p.tree.gamma, "minimum loss change of a split");
  cmd.add_option("--min-child-weight,--min_child_weight", p.tree.penalty.min_child_weight,
                 "minimum hessian sum in a child")
      ->capture_default_str();
  auto* mds = cmd.add_option("--max-delta-step,--max_delta_step", p.tree.penalty.max_delta_step,
                             "leaf weight bound (0: none; count:poisson defaults to 0.7 as in XGBoost)");
  cmd.add_option("--subsample", p.subsample, "row fraction per round");
  cmd.add_option("--colsample,--colsample-bytree,--colsample_bytree", p.colsample_bytree, "feature fraction per tree");
  cmd.add_option("--colsample-bylevel,--colsample_bylevel", p.tree.colsample_bylevel, "feature fraction per level");
  cmd.add_option("--colsample-bynode,--colsample_bynode", p.tree.colsample_bynode, "feature fraction per node");
  cmd.add_option("--max-bin,--max_bin", p.max_bin, "bins per feature (2..256; 255 value bins + missing)")
      ->capture_default_str();
  cmd.add_option("--base-score,--base_score", p.base_score, "initial prediction")->capture_default_str();
  cmd.add_option("--huber-slope,--huber_slope", p.huber_slope, "reg:pseudohubererror slope");
  cmd.add_option("--quantile-alpha,--quantile_alpha", p.quantile_alpha, "reg:quantileerror quantile level");
  cmd.add_option("--early-stopping,--early_stopping_rounds", p.early_stopping_rounds,
                 "stop after N rounds without improvement on --valid (keeps the best round)");
  cmd.add_option("--eval-metric,--eval_metric", p.eval_metrics,
                 "auc, logloss, mlogloss, rmse, mae, error, merror, accuracy (repeatable)");
  cmd.add_flag("--eval-train", p.eval_train, "also evaluate the training data every round");
  cmd.add_option("--seed", p.seed, "random seed");
  static std::string monotone;
  cmd.add_option("--monotone-constraints,--monotone_constraints", monotone,
                 "per feature 1 (increasing), -1 (decreasing), 0, e.g. \"(1,-1,0)\"");
  a.checkpoints.add_to(cmd, "rounds");
  rotor::cli::add_threads_option(cmd, a.threads);
  cmd.callback([mds] {
    if (!monotone.empty()) a.p.tree.monotone = rotor::trees::parse_monotone(monotone);
    a.p.tree.lossguide = a.grow_policy == "lossguide";
    a.p.max_delta_step_given = mds->count() > 0;
    if (a.p.tree.lossguide && a.p.tree.max_depth == 6 && !a.p.tree.max_leaves) a.p.tree.max_leaves = 31;
    if (a.p.objective == "multi:softprob")
      ROTOR_CHECK(a.p.num_class >= 2, "multi:softprob needs --num-class >= 2");
    // Under mpirun every rank reads its rows; nobody trains until all have read and run the same command.
    namespace dist = rotor::dist;
    a.p.distributed = dist::distributed();
    std::string problem;
    const rotor::io::Table train = rotor::cli::read_rank_rows(a.table, a.data, problem);
    rotor::io::Table valid;
    if (!a.valid.empty() && problem.empty()) {
      rotor::cli::TableArgs vargs = a.table;
      vargs.weights_file.clear();
      valid = rotor::cli::read_or_report(vargs, a.valid, problem);  // every rank: the whole set
    }
    const rotor::trees::BoostCheckpoint resumed = a.checkpoints.read(&rotor::trees::checkpoint_from_json, problem);
    dist::agree(problem, rotor::cli::command_line_fingerprint(), "the configuration (command line)");
    const bool lead = dist::rank() == 0;  // only rank 0 reports and writes
    rotor::cli::Progress progress("boost", lead ? a.p.rounds : 0);
    const auto t0 = std::chrono::steady_clock::now();
    const std::string checkpoint_path = a.out + ".checkpoint";
    const auto hooks = a.checkpoints.hooks<rotor::trees::CheckpointHooks>(resumed, checkpoint_path,
                                                                          &rotor::trees::checkpoint_to_json);
    auto result = rotor::trees::train_booster(train, a.valid.empty() ? nullptr : &valid, a.p,
                                              [&](const rotor::trees::RoundEval& ev) {
                                                if (lead) progress.update(ev.round + 1, ev.to_string());
                                              },
                                              hooks);
    const double train_s = seconds_since(t0);
    int64_t rows = train.rows;
    dist::allreduce_sum(&rows, 1);
    if (!lead) return;
    progress.finish(result.history.empty() ? "" : result.history.back().to_string());
    if (result.stopped) {
      std::printf("stopped after round %d; run saved in %s (continue with --resume %s)\n", a.checkpoints.stop_at,
                  checkpoint_path.c_str(), checkpoint_path.c_str());
      return;
    }
    rotor::trees::save_model(result.model, a.out);
    if (!result.history.empty()) std::printf("%s\n", result.history.back().to_string().c_str());
    if (result.best_iteration >= 0) std::printf("best_iteration=%d best_score=%.6f\n", result.best_iteration, result.best_score);
    if (dist::distributed()) std::printf("ranks=%d\n", dist::size());
    std::printf("trees=%zu rows=%lld features=%lld\n", result.model.trees.size(), static_cast<long long>(rows),
                static_cast<long long>(train.cols));
    std::printf("train_s=%.3f\n", train_s);
  });
}

struct PredictArgs {
  std::string model, data, out;
  rotor::cli::TableArgs table;
  bool margin = false;
  int threads = 0;
};

void setup_predict(CLI::App& cmd) {
  static PredictArgs a;
  cmd.add_option("--model", a.model, "model file (rotor or XGBoost JSON)")->required();
  cmd.add_option("--data", a.data, "data to predict (training layout; the label column is optional)")->required();
  cmd.add_option("--out", a.out, "predictions, one row per line")->required();
  a.table.add_to(cmd, false);
  cmd.add_flag("--margin", a.margin, "write raw margins instead of predictions");
  rotor::cli::add_threads_option(cmd, a.threads);
  cmd.callback([] {
    const rotor::trees::BoostModel model = rotor::trees::load_model(a.model);
    rotor::io::Table table = a.table.read(a.data);
    bool has_labels = !table.labels.empty();
    const bool libsvm = a.table.format == "libsvm" ||
                        (a.table.format == "auto" && (a.data.ends_with(".svm") || a.data.ends_with(".libsvm") ||
                                                      a.data.ends_with(".svmlight")));
    if (!libsvm && table.cols + 1 == model.num_feature && a.table.label_column >= 0) {
      // A CSV without the label column is one column short when read with one: re-read without it.
      rotor::cli::TableArgs no_label = a.table;
      no_label.label_column = -1;
      table = no_label.read(a.data);
      has_labels = false;
    } else if (libsvm && table.cols < model.num_feature) {
      // LibSVM rows may omit trailing features: widen to the model.
      rotor::io::TableOptions o = a.table.options();
      o.min_features = model.num_feature;
      table = rotor::io::read_libsvm(a.data, o);
    }
    model.check_table(table);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<float> pred = a.margin ? model.predict_margin(table.values.data(), table.rows)
                                       : model.predict(table.values.data(), table.rows);
    const double predict_s = seconds_since(t0);
    const int K = model.num_outputs();
    rotor::io::AtomicFile out(a.out);
    std::string line;
    char buf[32];
    for (int64_t r = 0; r < table.rows; ++r) {
      line.clear();
      for (int k = 0; k < K; ++k) {
        std::snprintf(buf, sizeof buf, k ? ",%.9g" : "%.9g", pred[static_cast<size_t>(r * K + k)]);
        line += buf;
      }
      line += '\n';
      out.write(line);
    }
    out.commit();
    if (has_labels && !a.margin) {
      std::vector<std::string> names;
      if (model.objective == "binary:logistic") names = {"auc", "logloss"};
      else if (model.num_class > 1) names = {"merror", "mlogloss"};
      else names = {"rmse"};
      if (model.num_class > 1) {
        for (float y : table.labels)
          ROTOR_CHECK(y >= 0 && y < model.num_class && y == std::floor(y), a.data, ": label ", y,
                      " is not a class in [0, ", model.num_class, ")");
      }
      for (const std::string& m : names) {
        double v = std::nan("");
        try {
          v = rotor::metrics::evaluate(m, table.labels, pred, model.num_class, table.weights);
        } catch (const Error&) {
          // e.g. AUC of a file with one class: undefined, printed as nan; the predictions stand.
        }
        std::printf("%s=%.6f\n", m.c_str(), v);
      }
    }
    std::printf("rows=%lld\n", static_cast<long long>(table.rows));
    std::printf("predict_s=%.3f\n", predict_s);
  });
}

void setup_importance(CLI::App& cmd) {
  static std::string model_path;
  static std::vector<std::string> types{"weight", "gain", "cover"};
  cmd.add_option("--model", model_path, "model file (rotor or XGBoost JSON)")->required();
  cmd.add_option("--type", types, "weight, gain, cover, total_gain, total_cover (repeatable)");
  cmd.callback([] {
    const auto model = rotor::trees::load_model(model_path);
    std::vector<std::vector<double>> cols;
    for (const std::string& t : types) cols.push_back(rotor::trees::feature_importance(model, t));
    std::printf("feature");
    for (const std::string& t : types) std::printf(",%s", t.c_str());
    std::printf("\n");
    for (int f = 0; f < model.num_feature; ++f) {
      if (f < static_cast<int>(model.feature_names.size())) std::printf("%s", model.feature_names[f].c_str());
      else std::printf("f%d", f);
      for (const auto& c : cols) std::printf(",%.9g", c[f]);
      std::printf("\n");
    }
  });
}

void setup_explain(CLI::App& cmd) {
  static PredictArgs a;
  cmd.add_option("--model", a.model, "model file (rotor or XGBoost JSON)")->required();
  cmd.add_option("--data", a.data, "rows to explain (training layout; the label column is optional)")->required();
  cmd.add_option("--out", a.out, "per row: feature contributions then the bias (per class for multiclass)")->required();
  a.table.add_to(cmd, false);
  rotor::cli::add_threads_option(cmd, a.threads);
  cmd.callback([] {
    const auto model = rotor::trees::load_model(a.model);
    rotor::io::Table table = a.table.read(a.data);
    if (table.cols + 1 == model.num_feature && a.table.label_column >= 0) {
      rotor::cli::TableArgs no_label = a.table;
      no_label.label_column = -1;
      table = no_label.read(a.data);
    }
    model.check_table(table);
    const auto t0 = std::chrono::steady_clock::now();
    const auto phi = rotor::trees::tree_shap(model, table.values.data(), table.rows);
    const double explain_s = seconds_since(t0);
    const size_t per_row = static_cast<size_t>(model.num_outputs()) * (model.num_feature + 1);
    rotor::io::AtomicFile out(a.out);
    std::string line;
    char buf[32];
    for (int64_t r = 0; r < table.rows; ++r) {
      line.clear();
      for (size_t i = 0; i < per_row; ++i) {
        std::snprintf(buf, sizeof buf, i ? ",%.9g" : "%.9g", phi[r * per_row + i]);
        line += buf;
      }
      line += '\n';
      out.write(line);
    }
    out.commit();
    std::printf("rows=%lld\nexplain_s=%.3f\n", static_cast<long long>(table.rows), explain_s);
  });
}

void setup(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  setup_importance(*cmd.add_subcommand("importance", "feature importance by split count, gain and cover"));
  setup_explain(*cmd.add_subcommand("explain", "per-row feature contributions (TreeSHAP)"));
  setup_train(*cmd.add_subcommand("train", "train a gradient-boosted tree model (XGBoost hist formulation)"));
  setup_predict(*cmd.add_subcommand("predict", "predict with a rotor or XGBoost JSON model"));
}

const bool registered = rotor::cli::register_command("boost", "second-order histogram gradient boosting", setup);

}  // namespace
