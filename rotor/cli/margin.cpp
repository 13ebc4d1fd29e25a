// `rotor margin` and `rotor surrogate`: the metric-learning experiments of issue 15 parts 3 and 4 on
// Fashion-MNIST (rotor/models/metric_learning.h).
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "rotor/cli/command.h"
#include "rotor/cli/progress.h"
#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/io/idx.h"
#include "rotor/models/metric_learning.h"

namespace {

namespace rm = rotor::models;

struct Common {
  std::string data = rotor::io::kFashionMnistDir, json_out;
  int64_t train_size = 10000, test_size = 10000, epochs = 5, batch = 128, hidden = 256, seed = 1;
  double lr = 1e-3;
  int threads = 0;
};

void add_common(CLI::App& cmd, Common& c) {
  cmd.add_option("--data", c.data, "Fashion-MNIST folder (IDX files, gzip or plain)")->capture_default_str();
  cmd.add_option("--train-size", c.train_size, "first N training images (default 10000; 0: all 60000)");
  cmd.add_option("--test-size", c.test_size, "first N test images (default 10000)")->check(rotor::cli::positive);
  cmd.add_option("--epochs", c.epochs, "passes over the training images")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_option("--batch", c.batch, "minibatch size")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_option("--hidden", c.hidden, "hidden width of the MLP backbone")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_option("--lr", c.lr, "Adam learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  cmd.add_option("--seed", c.seed, "random seed (initialisation and batch order)")->capture_default_str();
  cmd.add_option("--json", c.json_out, "also write the results to this JSON file");
  rotor::cli::add_threads_option(cmd, c.threads);
}

// Loads the data, runs `run(train, test, on_epoch)` with a progress line per epoch, returns its result.
template <class Run>
auto run_with_progress(const Common& c, const std::string& label, const Run& run) {
  const auto train = rm::load_fashion_mnist_flat(c.data, true, c.train_size);
  const auto test = rm::load_fashion_mnist_flat(c.data, false, c.test_size);
  rotor::cli::Progress progress(label, c.epochs);
  const rm::EpochCallback on_epoch = [&](int64_t e, double loss) { progress.update(e, "loss " + std::to_string(loss)); };
  const auto r = run(train, test, on_epoch);
  progress.finish();
  return r;
}

void setup_margin(CLI::App& cmd) {
  static Common c;
  static std::string head = "softmax";
  static double s = std::nan(""), m = std::nan("");  // NaN: the head's default
  static bool easy = false;
  static int64_t dim = 64, pair_images = 3000;
  cmd.add_option("--head", head, "softmax|normface|lsoftmax|asoftmax|cosface|arcface")->capture_default_str();
  cmd.add_option("--s", s, "scale of normface/cosface/arcface (default 30; lsoftmax/asoftmax have none)");
  cmd.add_option("--m", m, "margin (defaults: lsoftmax/asoftmax 4, cosface 0.35, arcface 0.5)");
  cmd.add_flag("--easy-margin", easy, "arcface: the margin only where cos(theta) > 0");
  cmd.add_option("--dim", dim, "embedding size (the backbone's output)")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_option("--pair-images", pair_images, "test images whose pairs give TAR@FAR 1e-3")
      ->check(rotor::cli::positive)->capture_default_str();
  add_common(cmd, c);
  cmd.callback([] {
    rm::MarginExperimentOptions o;
    o.head.kind = rotor::nn::parse_margin_kind(head);
    o.head.s = std::isnan(s) ? 30.0 : s;
    o.head.m = std::isnan(m) ? rotor::nn::default_margin(o.head.kind) : m;
    ROTOR_CHECK(o.head.m >= 0, "--m must be >= 0, got ", o.head.m);
    o.head.easy_margin = easy;
    ROTOR_CHECK(o.head.s > 0, "--s must be positive, got ", o.head.s);
    o.hidden = c.hidden, o.dim = dim, o.epochs = c.epochs, o.batch = c.batch, o.lr = c.lr;
    o.seed = static_cast<uint64_t>(c.seed), o.pair_images = pair_images;
    if (o.head.kind == rotor::nn::MarginKind::lsoftmax || o.head.kind == rotor::nn::MarginKind::asoftmax)
      ROTOR_CHECK(o.head.m >= 1 && o.head.m == static_cast<int>(o.head.m), "--m must be an integer >= 1 for ", head,
                  ", got ", o.head.m);
    const auto r = run_with_progress(c, "margin " + head, [&o](const auto& train, const auto& test, const auto& cb) {
      return rm::run_margin_experiment(train, test, o, cb);
    });
    std::printf("head %s  s %g  m %g%s  test accuracy %.4f  TAR@FAR=1e-3 %.4f  (threshold %.4f, %lld genuine / %lld impostor pairs)\n",
                head.c_str(), o.head.s, o.head.m, easy ? "  easy margin" : "", r.test_accuracy, r.tar, r.threshold,
                static_cast<long long>(r.genuine_pairs), static_cast<long long>(r.impostor_pairs));
    if (!c.json_out.empty())
      rotor::io::write_file_atomic(c.json_out,
                                   nlohmann::json{{"head", head}, {"s", o.head.s}, {"m", o.head.m}, {"easy_margin", easy},
                                                  {"test_accuracy", r.test_accuracy}, {"tar_at_far_1e-3", r.tar},
                                                  {"threshold", r.threshold}, {"final_loss", r.final_loss}}
                                           .dump(1) + "\n");
  });
}

int64_t sum_of(const std::vector<int64_t>& v) {
  int64_t s = 0;
  for (int64_t x : v) s += x;
  return s;
}

void setup_surrogate(CLI::App& cmd) {
  static Common c;
  static std::string loss = "ce", task = "binary";
  static int64_t positive = 6, ratio = 20;
  static double tau = 1.0;
  c.train_size = 0, c.epochs = 10, c.batch = 512, c.hidden = 64;
  cmd.add_option("--loss", loss, "ce (binary cross-entropy), soft_acc, soft_f1, auc (pairwise sigmoid)")
      ->capture_default_str();
  cmd.add_option("--task", task,
                 "binary (--positive against the rest at 1:--ratio) or multiclass (all ten classes, long-tailed: "
                 "class c keeps --ratio^(-c/9) of its images; losses ce, soft_acc, soft_f1 = soft macro F1)")
      ->check(CLI::IsMember({"binary", "multiclass"}))
      ->capture_default_str();
  cmd.add_option("--positive", positive, "the positive class (0-9; default 6, Shirt)")->capture_default_str();
  cmd.add_option("--ratio", ratio, "negatives per positive (positives subsampled)")->check(rotor::cli::positive)
      ->capture_default_str();
  cmd.add_option("--tau", tau, "temperature of the auc surrogate")->check(CLI::PositiveNumber)->capture_default_str();
  add_common(cmd, c);
  cmd.callback([] {
    rm::SurrogateExperimentOptions o;
    o.loss = rm::parse_surrogate_loss(loss);
    o.positive_class = positive, o.ratio = ratio, o.tau = tau, o.multiclass = task == "multiclass";
    o.hidden = c.hidden, o.epochs = c.epochs, o.batch = c.batch, o.lr = c.lr, o.seed = static_cast<uint64_t>(c.seed);
    ROTOR_CHECK(positive >= 0 && positive <= 9, "--positive must be a class id 0..9, got ", positive);
    const auto r = run_with_progress(c, "surrogate " + loss, [&o](const auto& train, const auto& test, const auto& cb) {
      return rm::run_surrogate_experiment(train, test, o, cb);
    });
    if (o.multiclass) {
      std::printf("loss %s  ten classes, long-tailed 1:%lld  train %lld (class 0 %lld, class 9 %lld)  test %lld  "
                  "accuracy %.4f  macro-F1 %.4f  balanced accuracy %.4f\n",
                  loss.c_str(), static_cast<long long>(ratio), static_cast<long long>(sum_of(r.train_per_class)),
                  static_cast<long long>(r.train_per_class.front()), static_cast<long long>(r.train_per_class.back()),
                  static_cast<long long>(sum_of(r.test_per_class)), r.accuracy, r.macro_f1, r.balanced_accuracy);
      if (!c.json_out.empty())
        rotor::io::write_file_atomic(
            c.json_out, nlohmann::json{{"loss", loss}, {"task", task}, {"accuracy", r.accuracy}, {"macro_f1", r.macro_f1},
                                       {"balanced_accuracy", r.balanced_accuracy}, {"seed", c.seed}}
                            .dump(1) + "\n");
      return;
    }
    std::printf("loss %s  class %lld vs rest 1:%lld  train %lld+/%lld-  test %lld+/%lld-  accuracy %.4f  F1 %.4f  AUC %.4f\n",
                loss.c_str(), static_cast<long long>(positive), static_cast<long long>(ratio),
                static_cast<long long>(r.train_positives), static_cast<long long>(r.train_negatives),
                static_cast<long long>(r.test_positives), static_cast<long long>(r.test_negatives), r.accuracy, r.f1,
                r.auc);
    if (!c.json_out.empty())
      rotor::io::write_file_atomic(c.json_out, nlohmann::json{{"loss", loss}, {"accuracy", r.accuracy}, {"f1", r.f1},
                                                              {"auc", r.auc}, {"seed", c.seed}}
                                                   .dump(1) + "\n");
  });
}

const bool registered_margin = rotor::cli::register_command(
    "margin", "train an embedding with a large-margin softmax head on Fashion-MNIST; accuracy and TAR@FAR", setup_margin);
const bool registered_surrogate = rotor::cli::register_command(
    "surrogate", "train an imbalanced classifier (one-vs-rest or long-tailed ten-class) on a metric surrogate; accuracy, F1, AUC",
    setup_surrogate);

}  // namespace
