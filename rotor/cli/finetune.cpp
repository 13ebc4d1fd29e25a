// `rotor finetune`: sequence classification on a masked-LM encoder (`rotor train --objective mlm`). The task
// is taken from the text itself: --task testament labels each King James verse with its testament (Old or
// New), balanced to 50% chance; the encoder reads the verse's first --length bytes, the mean of its final
// hidden states feeds one linear layer, and every parameter is trained. --from-scratch trains the same
// architecture from a fresh initialisation instead of the pretrained weights: the comparison that shows
// what the pretraining is worth. --out DIR gets metrics.json (test_accuracy ...) and model.safetensors.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "rotor/cli/command.h"
#include "rotor/cli/kjv_text.h"
#include "rotor/cli/progress.h"
#include "rotor/cli/schedule_flags.h"
#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/io/atomic_file.h"
#include "rotor/io/safetensors.h"
#include "rotor/models/kjv_verses.h"
#include "rotor/models/text_classifier.h"
#include "rotor/models/transformer.h"

namespace {

namespace fs = std::filesystem;
using namespace rotor;
using namespace rotor::models;

struct Args {
  std::string model, task = "testament", data, out;
  int64_t length = 64, steps = 300, batch = 16, warmup = -1;
  double lr = 3e-4, lr_min = -1, clip = 1.0, weight_decay = 0.01, test_fraction = 0.2;
  uint64_t seed = 1;
  bool from_scratch = false;
  int threads = 0;
};

// The encoder of the run directory: its weights, or (from_scratch) its architecture freshly initialised
// as `rotor train` initialises it.
std::shared_ptr<AutogradGpt> load_encoder(const Args& a) {
  ROTOR_CHECK(fs::is_directory(a.model), "--model ", a.model, " is not a run directory");
  ROTOR_CHECK(is_mixer_run(a.model), "--model ", a.model, ": not a `rotor train --objective mlm` run (its "
              "config.json has no encoder)");
  std::shared_ptr<AutogradGpt> encoder = load_autograd_gpt(a.model);
  ROTOR_CHECK(encoder->bidirectional(), "--model ", a.model, ": a left-to-right model; `rotor finetune` needs "
              "an encoder trained with `rotor train --objective mlm`");
  if (a.from_scratch) {
    Transformer fused(encoder->config());
    Rng init(a.seed ^ 0x5eed1417ULL);
    fused.init_parameters(init, Transformer::Init::torch);
    encoder->init_from(fused);
  }
  return encoder;
}

void run(const Args& a, CLI::App& cmd) {
  ROTOR_CHECK(a.task == "testament", "unknown --task '", a.task, "' (expected testament)");
  ROTOR_CHECK(!a.model.empty(), "--model is required (a run directory of `rotor train --objective mlm`)");
  const double lr_min = a.lr_min >= 0 ? a.lr_min : a.lr / 10;
  const int64_t warmup = a.warmup >= 0 ? a.warmup : a.steps / 10;
  cli::check_schedule_flags(cmd, {a.lr, lr_min, a.clip, a.weight_decay, warmup, a.steps}, a.lr_min, a.warmup);
  ROTOR_CHECK(a.test_fraction > 0 && a.test_fraction < 1, "--test-fraction must be in (0, 1), got ",
              a.test_fraction);
  ROTOR_CHECK(a.out.empty() || !fs::exists(a.out) || fs::is_directory(a.out), "--out ", a.out,
              " exists and is not a directory");
  ROTOR_CHECK(a.data.empty() || !fs::is_directory(a.data), "--data ", a.data, " is a directory; pass the text file");
  std::shared_ptr<AutogradGpt> encoder = load_encoder(a);
  ROTOR_CHECK(a.length <= encoder->config().ctx, "--length ", a.length, " is longer than the encoder's context (",
              encoder->config().ctx, " bytes)");

  const std::string data = a.data.empty() ? cli::kjv_text_path() : a.data;
  const ClassificationSplit split = testament_task(parse_kjv_verses(io::read_file(data), data), a.length,
                                                   a.test_fraction, a.seed);
  Rng head_init(a.seed ^ 0xc1a55ULL);
  TextClassifier model(encoder, split.classes, head_init);
  FinetuneOptions opt;
  opt.steps = a.steps;
  opt.batch = a.batch;
  opt.warmup = warmup;
  opt.lr = a.lr;
  opt.lr_min = lr_min;
  opt.clip = a.clip;
  opt.weight_decay = a.weight_decay;
  opt.seed = a.seed;
  std::fprintf(stderr, "rotor finetune: task %s, %s encoder from %s (%lld parameters), %lld train / %lld test "
               "verses of %lld bytes, %d threads\n",
               a.task.c_str(), a.from_scratch ? "freshly initialised" : "pretrained", a.model.c_str(),
               (long long)model.parameter_count(), (long long)split.train.size(), (long long)split.test.size(),
               (long long)a.length, rotor::num_threads());
  cli::Progress progress("finetune", opt.steps);
  double smooth = std::nan("");
  const FinetuneResult r = finetune_classifier(model, split.train, split.test, opt, [&](int64_t step, double loss) {
    smooth = std::isnan(smooth) ? loss : 0.9 * smooth + 0.1 * loss;
    char line[64];
    std::snprintf(line, sizeof line, "loss %.4f", smooth);
    progress.update(step, line);
  });
  progress.finish();
  nlohmann::json m = {{"task", a.task},
                      {"model", a.model},
                      {"pretrained", !a.from_scratch},
                      {"classes", split.classes},
                      {"length", a.length},
                      {"train_examples", split.train.size()},
                      {"test_examples", split.test.size()},
                      {"steps", opt.steps},
                      {"batch", opt.batch},
                      {"lr", opt.lr},
                      {"seed", a.seed},
                      {"final_train_loss", r.final_train_loss},
                      {"test_loss", r.test_loss},
                      {"test_accuracy", r.test_accuracy}};
  if (!a.out.empty()) {
    fs::create_directories(a.out);
    io::TensorMap tensors;
    for (const auto& [name, v] : model.named_parameters()) tensors[name] = v.value().contiguous();
    io::save_safetensors(a.out + "/model.safetensors", tensors);
    io::write_file_atomic(a.out + "/metrics.json", m.dump(2) + "\n");
    std::fprintf(stderr, "saved in %s\n", a.out.c_str());
  }
  std::printf("test_accuracy=%.4f\n", r.test_accuracy);
}

void setup(CLI::App& cmd) {
  static Args a;
  cmd.add_option("--model", a.model, "run directory of `rotor train --objective mlm` (the encoder)")->required();
  cmd.add_option("--task", a.task, "classification task taken from the text: testament (Old or New, of a KJV "
                 "verse; balanced, chance 50%)");
  cmd.add_option("--data", a.data, "the King James text as `bible` prints it (default: the cached copy that "
                 "`rotor train` uses)");
  cmd.add_flag("--from-scratch", a.from_scratch, "same architecture, fresh initialisation (no pretraining): the "
               "baseline");
  cmd.add_option("--length", a.length, "bytes read from each verse (verses shorter than this are left out)")
      ->check(rotor::cli::positive);
  cmd.add_option("--test-fraction", a.test_fraction, "share of each class held out for the test accuracy");
  cmd.add_option("--steps", a.steps, "optimizer steps")->check(rotor::cli::positive);
  cmd.add_option("--batch", a.batch, "verses per step")->check(rotor::cli::positive);
  cmd.add_option("--lr", a.lr, "peak learning rate (AdamW)");
  cmd.add_option("--lr-min", a.lr_min, "final learning rate of the cosine schedule (default: lr/10)");
  cmd.add_option("--warmup", a.warmup, "linear warmup steps (default: steps/10)");
  cmd.add_option("--clip", a.clip, "global gradient-norm clipping (0: off)");
  cmd.add_option("--weight-decay", a.weight_decay, "AdamW decoupled weight decay on matrices");
  cmd.add_option("--seed", a.seed, "random seed (split, classifier initialisation, batches)");
  cmd.add_option("--out", a.out, "directory for metrics.json (test_accuracy ...) and model.safetensors");
  rotor::cli::add_threads_option(cmd, a.threads);
  cmd.callback([&cmd] { run(a, cmd); });
}

const bool registered =
    rotor::cli::register_command("finetune", "fine-tune a masked-LM encoder for sequence classification", setup);

}  // namespace
