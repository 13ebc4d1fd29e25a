// `rotor gbm train|predict`: Friedman's first-order gradient boosting over CART trees
// (scikit-learn's GradientBoostingRegressor / binary GradientBoostingClassifier parameters).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "rotor/cli/command.h"
#include "rotor/cli/predict_options.h"
#include "rotor/cli/table_options.h"
#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/trees/gbm.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void setup(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  CLI::App& train = *cmd.add_subcommand("train", "train a gradient boosting machine");
  static std::string data, out;
  static rotor::cli::TableArgs table;
  static rotor::trees::GbmParams p;
  static int threads = 0;
  train.add_option("--data", data, "training data (no missing values)")->required();
  train.add_option("--out", out, "model file (JSON)")->required();
  table.add_to(train, true);
  train.add_option("--loss", p.loss, "squared_error (regression) or log_loss (binary classification)")
      ->check(CLI::IsMember({"squared_error", "log_loss"}))
      ->capture_default_str();
  train.add_option("--n-estimators,--n_estimators,--rounds", p.estimators, "boosting rounds")->capture_default_str();
  train.add_option("--learning-rate,--learning_rate,--eta", p.learning_rate, "shrinkage")->capture_default_str();
  train.add_option("--subsample", p.subsample, "row fraction per tree (stochastic gradient boosting)");
  train.add_option("--max-depth,--max_depth", p.tree.max_depth, "tree depth (default 3)");
  train.add_option("--min-samples-leaf,--min_samples_leaf", p.tree.min_samples_leaf, "rows needed in a leaf");
  train.add_option("--min-samples-split,--min_samples_split", p.tree.min_samples_split, "rows needed to split");
  train.add_option("--seed,--random-state", p.seed, "random seed");
  rotor::cli::add_threads_option(train, threads);
  train.callback([] {
    const auto t = table.read(data);
    const auto t0 = std::chrono::steady_clock::now();
    const auto model = rotor::trees::train_gbm(t, p);
    const double train_s = seconds_since(t0);
    rotor::trees::save_gbm(model, out);
    std::printf("trees=%zu\ntrain_s=%.3f\n", model.trees.size(), train_s);
  });
  CLI::App& predict = *cmd.add_subcommand("predict", "predict with a gbm model");
  static rotor::cli::PredictArgs a;
  a.add_to(predict, "rotor-gbm model", "one prediction per line (P(second class) for log_loss)");
  predict.callback([] {
    const auto model = rotor::trees::load_gbm(a.model);
    const auto t = a.read(model.num_feature, "gbm");
    const auto t0 = std::chrono::steady_clock::now();
    const auto pred = model.predict(t.values.data(), t.rows);
    const double predict_s = seconds_since(t0);
    rotor::io::AtomicFile file(a.out);
    char buf[32];
    for (float v : pred) {
      std::snprintf(buf, sizeof buf, "%.9g\n", v);
      file.write(buf);
    }
    file.commit();
    if (!t.labels.empty() && model.loss == "squared_error") {
      double se = 0;
      for (int64_t i = 0; i < t.rows; ++i) se += (pred[i] - t.labels[i]) * (pred[i] - t.labels[i]);
      std::printf("rmse=%.6f\n", std::sqrt(se / t.rows));
    }
    std::printf("rows=%lld\npredict_s=%.3f\n", static_cast<long long>(t.rows), predict_s);
  });
}

const bool registered = rotor::cli::register_command("gbm", "Friedman gradient boosting over CART trees", setup);

}  // namespace
