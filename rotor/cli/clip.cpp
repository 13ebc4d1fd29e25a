// `rotor clip`: contrastive image-text training on Fashion-MNIST with class-name captions (issue 15 part 1).
//   rotor clip train --loss clip|siglip --batch 64 --steps 1000 --out runs/clip
//   rotor clip eval --model runs/clip
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "rotor/cli/command.h"
#include "rotor/cli/progress.h"
#include "rotor/core/error.h"
#include "rotor/io/checkpoint.h"
#include "rotor/io/idx.h"
#include "rotor/models/clip_trainer.h"

namespace {

namespace models = rotor::models;

void print_metrics(const nlohmann::json& metrics) {
  for (const auto& [key, value] : metrics.items()) std::printf("%s %s\n", key.c_str(), value.dump().c_str());
}

nlohmann::json parse_object(const std::string& text, const char* option) {
  if (text.empty()) return nlohmann::json::object();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw rotor::Error(rotor::cat("clip: ", option, " is not JSON (", e.what(), ")"));
  }
  ROTOR_CHECK(j.is_object(), "clip: ", option, " must be a JSON object, got ", j.dump());
  return j;
}

void setup_train(CLI::App& cmd) {
  static std::string loss = "clip", out, data = rotor::io::kFashionMnistDir, model_config;
  static models::ClipTrainOptions o;
  static int64_t train_limit = 0, test_limit = 0, chunk = 0;
  static int threads = 0;
  cmd.add_option("--loss", loss, "contrastive loss: clip (symmetric InfoNCE) or siglip (pairwise sigmoid)")
      ->capture_default_str();
  cmd.add_option("--out", out, "run directory to write (config.json, model.safetensors, metrics.csv, metrics.json)")
      ->required();
  cmd.add_option("--batch", o.batch, "image-caption pairs per step")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_option("--steps", o.steps, "training steps")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_option("--lr", o.lr, "AdamW peak learning rate (5% warmup, cosine to 0)")->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd.add_option("--weight-decay", o.weight_decay, "AdamW decoupled weight decay")->capture_default_str();
  cmd.add_option("--seed", o.seed, "seed of the initialisation, batch order and training captions")->capture_default_str();
  cmd.add_option("--caption-seed", o.caption_seed, "seed of the test captions used for recall")->capture_default_str();
  cmd.add_option("--siglip-chunk", chunk, "siglip: text columns per block of the chunked loss (0: unchunked)")
      ->capture_default_str();
  cmd.add_option("--model-config", model_config, "JSON object overriding the model's defaults, e.g. '{\"embed\": 32}'");
  cmd.add_option("--data", data, "Fashion-MNIST directory (IDX files, plain or .gz)")->capture_default_str();
  cmd.add_option("--train-limit", train_limit, "use only the first N training images (0: all)");
  cmd.add_option("--test-limit", test_limit, "evaluate on the first N test images (0: all)");
  cmd.add_option("--log-every", o.log_every, "steps per metrics.csv row")->check(rotor::cli::positive)->capture_default_str();
  rotor::cli::add_threads_option(cmd, threads);
  cmd.callback([] {
    ROTOR_CHECK(train_limit >= 0 && test_limit >= 0 && chunk >= 0,
                "clip: --train-limit, --test-limit and --siglip-chunk must be >= 0");
    ROTOR_CHECK(o.weight_decay >= 0, "clip: --weight-decay must be >= 0, got ", o.weight_decay);
    nlohmann::json config = parse_object(model_config, "--model-config");
    ROTOR_CHECK(!config.contains("loss"), "clip: set the loss with --loss, not --model-config");
    config["loss"] = models::contrastive_loss_name(models::contrastive_loss_from_name(loss));
    if (chunk > 0) config["siglip_chunk"] = chunk;
    const models::ClipConfig cfg = models::ClipConfig::from_json(config);
    rotor::io::check_checkpoint_target(out, "clip: --out");
    const models::VisionData train = models::load_vision_data(data, true, train_limit);
    const models::VisionData test = models::load_vision_data(data, false, test_limit);
    ROTOR_CHECK(o.batch >= 2 && o.batch <= train.size(), "clip: --batch must be in 2..", train.size(),
                " (the training images), got ", o.batch);
    rotor::Rng rng(o.seed);
    models::ClipModel model(cfg, models::train_caption_tokenizer(cfg.bpe_vocab), rng);
    double smoothed = NAN;
    rotor::cli::Progress progress("clip " + loss, o.steps);
    const auto run = models::train_clip(model, train, test, o, [&](int64_t step, int64_t, double value) {
      smoothed = std::isnan(smoothed) ? value : 0.98 * smoothed + 0.02 * value;
      char text[64];
      std::snprintf(text, sizeof text, "loss %.4f", smoothed);
      progress.update(step, text);
    });
    progress.finish();
    models::save_clip_run(out, model, o, run);
    print_metrics(run.metrics);
  });
}

void setup_eval(CLI::App& cmd) {
  static std::string dir, data = rotor::io::kFashionMnistDir;
  static int64_t test_limit = 0;
  static int64_t caption_seed = -1;
  static int threads = 0;
  cmd.add_option("--model", dir, "run directory written by rotor clip train")->required();
  cmd.add_option("--data", data, "Fashion-MNIST directory")->capture_default_str();
  cmd.add_option("--test-limit", test_limit, "evaluate on the first N test images (0: all)");
  cmd.add_option("--caption-seed", caption_seed, "seed of the test captions (default: the run's)");
  rotor::cli::add_threads_option(cmd, threads);
  cmd.callback([] {
    ROTOR_CHECK(test_limit >= 0, "clip: --test-limit must be >= 0, got ", test_limit);
    auto model = models::load_clip_model(dir);
    const uint64_t seed =
        caption_seed >= 0 ? static_cast<uint64_t>(caption_seed) : models::load_clip_options(dir).caption_seed;
    const models::VisionData test = models::load_vision_data(data, false, test_limit);
    print_metrics(models::evaluate_clip(*model, test, seed));
  });
}

void setup(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  setup_train(*cmd.add_subcommand("train", "train image and text towers with a contrastive loss; zero-shot and recall"));
  setup_eval(*cmd.add_subcommand("eval", "zero-shot accuracy and recall@1/@5 of a clip run on the test set"));
}

const bool registered = rotor::cli::register_command(
    "clip", "CLIP / SigLIP image-text training on Fashion-MNIST with class-name captions", setup);

}  // namespace
