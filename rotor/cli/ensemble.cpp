// `rotor bagging train|predict` and `rotor stacking train|predict`: meta-ensembles over rotor's tree
// learners, named by specs like "boost:rounds=50,max_depth=4" (see rotor/trees/ensemble.h).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "rotor/cli/command.h"
#include "rotor/cli/predict_options.h"
#include "rotor/cli/table_options.h"
#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/trees/ensemble.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int classes_of(const rotor::io::Table& t, const std::string& task) {
  if (task == "regression") return 0;
  float mx = 0;
  for (float y : t.labels) mx = std::max(mx, y);
  return std::max(2, static_cast<int>(mx) + 1);
}

struct Common {
  std::string data, out, task = "classification";
  rotor::cli::TableArgs table;
  uint64_t seed = 0;
  int threads = 0;
  void add(CLI::App& cmd) {
    cmd.add_option("--data", data, "training data (classification labels 0..K-1)")->required();
    cmd.add_option("--out", out, "model file (JSON)")->required();
    cmd.add_option("--task", task, "classification or regression")
        ->check(CLI::IsMember({"classification", "regression"}));
    cmd.add_option("--seed", seed, "random seed");
    table.add_to(cmd, true);
    rotor::cli::add_threads_option(cmd, threads);
  }
};

void setup_predict(CLI::App& cmd) {
  static rotor::cli::PredictArgs a;
  a.add_to(cmd, "rotor-ensemble model", "P(class 1) for binary, class probabilities, or values");
  cmd.callback([] {
    const auto model = rotor::trees::load_ensemble(a.model);
    const auto t = a.read(model.num_feature);
    const auto t0 = std::chrono::steady_clock::now();
    const auto pred = model.predict(t.values.data(), t.rows);
    const double predict_s = seconds_since(t0);
    const int K = model.num_outputs();
    rotor::io::AtomicFile file(a.out);
    int64_t correct = 0;
    for (int64_t r = 0; r < t.rows; ++r) {
      file.write(rotor::cli::prediction_row(pred.data() + r * K, K) + "\n");
      if (!t.labels.empty() && model.num_classes > 0) {
        const float* p = pred.data() + r * K;
        correct += (std::max_element(p, p + K) - p) == static_cast<int64_t>(t.labels[r]);
      }
    }
    file.commit();
    if (!t.labels.empty() && model.num_classes > 0)
      std::printf("accuracy=%.6f\n", static_cast<double>(correct) / static_cast<double>(t.rows));
    std::printf("rows=%lld\npredict_s=%.3f\n", static_cast<long long>(t.rows), predict_s);
  });
}

void setup_bagging(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  CLI::App& train = *cmd.add_subcommand("train", "bag copies of a learner on bootstrap samples");
  static Common c;
  static std::string learner = "tree";
  static int estimators = 10;
  static double max_samples = 1.0;
  c.add(train);
  train.add_option("--learner", learner, "learner spec, e.g. tree:max_depth=8 or boost:rounds=50")->capture_default_str();
  train.add_option("--n-estimators,--n_estimators,--estimators", estimators, "copies")->capture_default_str();
  train.add_option("--max-samples,--max_samples", max_samples, "bootstrap size as a fraction of the rows");
  train.callback([] {
    const auto t = c.table.read(c.data);
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = rotor::trees::train_bagging(t, rotor::trees::LearnerSpec::parse(learner), estimators, max_samples,
                                               classes_of(t, c.task), c.seed);
    const double train_s = seconds_since(t0);
    rotor::trees::save_ensemble(r.model, c.out);
    std::printf("estimators=%zu\ntrain_s=%.3f\n", r.model.bases.size(), train_s);
  });
  setup_predict(*cmd.add_subcommand("predict", "predict with a bagging model"));
}

void setup_stacking(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  CLI::App& train = *cmd.add_subcommand("train", "stack base learners under a linear meta-learner");
  static Common c;
  static std::vector<std::string> bases;
  static int folds = 5;
  static double l2 = 1.0;
  c.add(train);
  train.add_option("--base", bases, "base learner spec (repeatable), e.g. forest:trees=50")->required();
  train.add_option("--folds,--cv", folds, "folds for the out-of-fold predictions")->capture_default_str();
  train.add_option("--meta-l2", l2, "L2 penalty of the meta-learner")->capture_default_str();
  train.callback([] {
    const auto t = c.table.read(c.data);
    std::vector<rotor::trees::LearnerSpec> specs;
    for (const auto& b : bases) specs.push_back(rotor::trees::LearnerSpec::parse(b));
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = rotor::trees::train_stacking(t, specs, folds, classes_of(t, c.task), l2, c.seed);
    const double train_s = seconds_since(t0);
    rotor::trees::save_ensemble(r.model, c.out);
    std::printf("oof_%s=%.6f\ntrain_s=%.3f\n", c.task == "regression" ? "r2" : "accuracy", r.oof_score, train_s);
  });
  setup_predict(*cmd.add_subcommand("predict", "predict with a stacking model"));
}

const bool registered_bagging =
    rotor::cli::register_command("bagging", "bagging over any tree learner", setup_bagging);
const bool registered_stacking =
    rotor::cli::register_command("stacking", "stacking (k-fold out-of-fold) over tree learners", setup_stacking);

}  // namespace
