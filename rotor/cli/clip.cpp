// `rotor clip`: contrastive image-text training on Fashion-MNIST with class-name captions (issue 15 parts 1, 2).
//   rotor clip train --loss clip|siglip|blip --batch 64 --steps 1000 --out runs/clip
//   rotor clip eval --model runs/clip
//   rotor clip caption --model runs/blip --count 10 [--out captions.tsv]
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "rotor/cli/command.h"
#include "rotor/cli/progress.h"
#include "rotor/core/error.h"
#include "rotor/io/checkpoint.h"
#include "rotor/io/idx.h"
#include "rotor/io/atomic_file.h"
#include "rotor/models/blip_trainer.h"
#include "rotor/models/clip_captions.h"
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
  cmd.add_option("--loss", loss,
                 "clip (symmetric InfoNCE), siglip (pairwise sigmoid) or blip (ITC + ITM with hard negatives + "
                 "captioning LM)")
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
    const bool blip = loss == "blip";
    ROTOR_CHECK(blip || loss == "clip" || loss == "siglip", "clip: unknown loss '", loss, "' (want clip, siglip or blip)");
    if (!blip) config["loss"] = models::contrastive_loss_name(models::contrastive_loss_from_name(loss));
    ROTOR_CHECK(!blip || chunk == 0, "clip: --siglip-chunk applies to the siglip loss only");
    if (chunk > 0) config["siglip_chunk"] = chunk;
    std::optional<models::BlipConfig> blip_cfg;
    std::optional<models::ClipConfig> clip_cfg;
    if (blip)
      blip_cfg = models::BlipConfig::from_json(config);
    else
      clip_cfg = models::ClipConfig::from_json(config);
    rotor::io::check_checkpoint_target(out, "clip: --out");
    const models::VisionData train = models::load_vision_data(data, true, train_limit);
    const models::VisionData test = models::load_vision_data(data, false, test_limit);
    ROTOR_CHECK(o.batch >= 2 && o.batch <= train.size(), "clip: --batch must be in 2..", train.size(),
                " (the training images), got ", o.batch);
    rotor::Rng rng(o.seed);
    double smoothed = NAN;
    rotor::cli::Progress progress("clip " + loss, o.steps);
    const auto on_step = [&](int64_t step, int64_t, double value) {
      smoothed = std::isnan(smoothed) ? value : 0.98 * smoothed + 0.02 * value;
      char text[64];
      std::snprintf(text, sizeof text, "loss %.4f", smoothed);
      progress.update(step, text);
    };
    if (blip) {
      models::BlipModel model(*blip_cfg, models::train_caption_tokenizer(blip_cfg->clip.bpe_vocab), rng);
      const auto run = models::train_blip(model, train, test, o, on_step);
      progress.finish();
      models::save_blip_run(out, model, o, run);
      print_metrics(run.metrics);
    } else {
      models::ClipModel model(*clip_cfg, models::train_caption_tokenizer(clip_cfg->bpe_vocab), rng);
      const auto run = models::train_clip(model, train, test, o, on_step);
      progress.finish();
      models::save_clip_run(out, model, o, run);
      print_metrics(run.metrics);
    }
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
    const bool blip = models::image_text_run_kind(dir) == "blip";
    std::unique_ptr<models::ClipModel> clip_model;
    std::unique_ptr<models::BlipModel> blip_model;
    if (blip)
      blip_model = models::load_blip_model(dir);
    else
      clip_model = models::load_clip_model(dir);
    const uint64_t seed =
        caption_seed >= 0 ? static_cast<uint64_t>(caption_seed) : models::load_clip_options(dir).caption_seed;
    const models::VisionData test = models::load_vision_data(data, false, test_limit);
    print_metrics(blip ? models::evaluate_blip(*blip_model, test, seed) : models::evaluate_clip(*clip_model, test, seed));
  });
}

void setup_caption(CLI::App& cmd) {
  static std::string dir, data = rotor::io::kFashionMnistDir, out;
  static int64_t count = 10;
  static int threads = 0;
  cmd.add_option("--model", dir, "run directory written by rotor clip train --loss blip")->required();
  cmd.add_option("--count", count, "caption the first N test images")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_option("--out", out, "write the captions here (TSV: index, class, caption) instead of stdout");
  cmd.add_option("--data", data, "Fashion-MNIST directory")->capture_default_str();
  rotor::cli::add_threads_option(cmd, threads);
  cmd.callback([] {
    auto model = models::load_blip_model(dir);
    const models::VisionData test = models::load_vision_data(data, false, count);
    const std::vector<std::string> captions = model->generate_captions(test.images);
    const int64_t* y = test.labels.data<int64_t>();
    std::string text = "index\tclass\tcaption\n";
    for (size_t i = 0; i < captions.size(); ++i)
      text += rotor::cat(i, "\t", models::class_names()[static_cast<size_t>(y[i])][0], "\t", captions[i], "\n");
    if (out.empty())
      std::fputs(text.c_str(), stdout);
    else
      rotor::io::write_file_atomic(out, text);
  });
}

void setup(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  setup_train(*cmd.add_subcommand("train", "train image and text towers with a contrastive loss; zero-shot and recall"));
  setup_eval(*cmd.add_subcommand("eval", "zero-shot accuracy and recall@1/@5 of a clip run on the test set "
                                         "(and itm_accuracy, caption_class_rate of a blip run)"));
  setup_caption(*cmd.add_subcommand("caption", "greedy captions of test images by a blip run"));
}

const bool registered = rotor::cli::register_command(
    "clip", "CLIP / SigLIP / BLIP image-text training on Fashion-MNIST with class-name captions", setup);

}  // namespace
