// `rotor adaboost train|predict`: AdaBoost SAMME (classification) and AdaBoost.R2 (regression) over
// CART trees, with scikit-learn's parameter names.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "rotor/cli/command.h"
#include "rotor/cli/predict_options.h"
#include "rotor/cli/table_options.h"
#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/trees/adaboost.h"
#include "rotor/trees/prediction_score.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double score(const rotor::trees::AdaBoostModel& m, const rotor::io::Table& t, const std::vector<float>& pred) {
  return rotor::trees::prediction_score(m.classification, m.classes, t.labels, pred);
}

void setup(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  CLI::App& train = *cmd.add_subcommand("train", "train AdaBoost (SAMME or R2)");
  static std::string data, out, task = "classification", criterion;
  static rotor::cli::TableArgs table;
  static rotor::trees::AdaBoostParams p;
  static int threads = 0;
  train.add_option("--data", data, "training data (no missing values)")->required();
  train.add_option("--out", out, "model file (JSON)")->required();
  table.add_to(train, true);
  train.add_option("--task", task, "classification (SAMME) or regression (R2)")
      ->check(CLI::IsMember({"classification", "regression"}));
  train.add_option("--n-estimators,--n_estimators,--trees", p.estimators, "boosting rounds")->capture_default_str();
  train.add_option("--learning-rate,--learning_rate", p.learning_rate, "shrinkage of tree weights")->capture_default_str();
  train.add_option("--max-depth,--max_depth", p.tree.max_depth, "tree depth (default 1 for SAMME, 3 for R2)");
  train.add_option("--criterion", criterion, "gini or entropy (classification)");
  train.add_option("--min-samples-leaf,--min_samples_leaf", p.tree.min_samples_leaf, "rows needed in a leaf");
  train.add_option("--loss", p.loss, "R2 loss: linear, square, exponential")
      ->check(CLI::IsMember({"linear", "square", "exponential"}));
  train.add_option("--seed,--random-state", p.seed, "random seed");
  rotor::cli::add_threads_option(train, threads);
  train.callback([] {
    if (!criterion.empty()) p.tree.criterion = rotor::trees::parse_criterion(criterion);
    ROTOR_CHECK(task == "classification" || criterion.empty(), "--criterion is for classification");
    const auto t = table.read(data);
    const auto t0 = std::chrono::steady_clock::now();
    const auto model = rotor::trees::train_adaboost(t, p, task == "classification");
    const double train_s = seconds_since(t0);
    rotor::trees::save_adaboost(model, out);
    std::printf("trees=%zu train_%s=%.6f\n", model.trees.size(), model.classification ? "accuracy" : "r2",
                score(model, t, model.predict(t.values.data(), t.rows)));
    std::printf("train_s=%.3f\n", train_s);
  });
  CLI::App& predict = *cmd.add_subcommand("predict", "predict with an AdaBoost model");
  static rotor::cli::PredictArgs a;
  a.add_to(predict, "rotor-adaboost model", "P(positive) for binary, class probabilities, or values");
  predict.callback([] {
    const auto model = rotor::trees::load_adaboost(a.model);
    const auto t = a.read(model.num_feature, "AdaBoost");
    const auto t0 = std::chrono::steady_clock::now();
    const auto pred = model.predict(t.values.data(), t.rows);
    const double predict_s = seconds_since(t0);
    const int K = model.num_outputs();
    rotor::io::AtomicFile file(a.out);
    for (int64_t r = 0; r < t.rows; ++r) file.write(rotor::cli::prediction_row(pred.data() + r * K, K) + "\n");
    file.commit();
    if (!t.labels.empty()) std::printf("%s=%.6f\n", model.classification ? "accuracy" : "r2", score(model, t, pred));
    std::printf("rows=%lld\npredict_s=%.3f\n", static_cast<long long>(t.rows), predict_s);
  });
}

const bool registered = rotor::cli::register_command("adaboost", "AdaBoost SAMME / R2 over CART trees", setup);

}  // namespace
