// `rotor vision`: train, evaluate and sample the Fashion-MNIST models of rotor/models/vision_model.h.
//   rotor vision train --model cnn --out runs/cnn
//   rotor vision eval --model runs/cnn
//   rotor vision sample --model runs/vae --out vae.png
//   rotor vision fid --model runs/vae --classifier runs/cnn
//   rotor vision reconstruct --model runs/vqvae --out vqvae.png     (autoencoders: test images and reconstructions)
//   rotor vision train --model vqgan --max-steps 5000 --model-config '{"stage1_steps": 3000}' --out runs/vqgan
//     (one run, both stages: steps [0, stage1_steps) the VQ autoencoder against its patch discriminator, the
//     rest of the run the transformer prior over the codes; `sample` decodes codes drawn from the prior)
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "rotor/cli/command.h"
#include "rotor/cli/progress.h"
#include "rotor/core/error.h"
#include "rotor/io/idx.h"
#include "rotor/io/atomic_file.h"
#include "rotor/io/png.h"
#include "rotor/models/sample_quality.h"
#include "rotor/models/vision_trainer.h"

namespace {

namespace models = rotor::models;

std::string known_models() {
  std::string s;
  for (const auto& n : models::vision_model_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

nlohmann::json parse_model_config(const std::string& text) {
  if (text.empty()) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw rotor::Error(rotor::cat("vision: --model-config is not JSON (", e.what(), ")"));
  }
}

void print_metrics(const nlohmann::json& metrics) {
  for (const auto& [key, value] : metrics.items()) std::printf("%s %s\n", key.c_str(), value.dump().c_str());
}

void setup_train(CLI::App& cmd) {
  static std::string model, out, data = rotor::io::kFashionMnistDir, model_config;
  static models::VisionTrainOptions o;
  static int64_t train_limit = 0, test_limit = 0;
  static int threads = 0;
  static bool hard = false;
  cmd.add_option("--model", model, "model to train: " + known_models() +
                                       ". vqgan trains both stages in one run: the VQ autoencoder and patch "
                                       "discriminator for the first \"stage1_steps\" steps (--model-config, "
                                       "default 2000; GAN term from \"disc_start\", default 500), the "
                                       "transformer prior over the codes for the rest (--max-steps / --epochs)")
      ->required();
  cmd.add_option("--out", out, "run directory to write (config.json, model.safetensors, metrics.*, loss.svg)")
      ->required();
  cmd.add_option("--data", data, "Fashion-MNIST directory (IDX files, plain or .gz)")->capture_default_str();
  cmd.add_option("--model-config", model_config, "JSON object overriding the model's defaults, e.g. '{\"hidden\": 200}'");
  cmd.add_option("--epochs", o.epochs, "passes over the training set")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_option("--batch", o.batch, "images per step")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_option("--max-steps", o.max_steps, "stop after this many steps (0: run all epochs)")->capture_default_str();
  cmd.add_option("--lr", o.lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  cmd.add_flag("!--constant-lr", o.cosine, "keep the learning rate constant (default: cosine decay to 0)");
  cmd.add_option("--weight-decay", o.weight_decay, "AdamW decoupled weight decay")->capture_default_str();
  cmd.add_option("--seed", o.seed, "seed of the initialisation, shuffling and noise")->capture_default_str();
  cmd.add_option("--train-limit", train_limit, "use only the first N training images (0: all)");
  cmd.add_option("--test-limit", test_limit, "evaluate on the first N test images (0: all)");
  cmd.add_option("--log-every", o.log_every, "steps per metrics.csv row")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_flag("--hard", hard, "gumbel-vae: one-hot samples forward, the soft sample's gradient (straight through)");
  rotor::cli::add_threads_option(cmd, threads);
  cmd.callback([&cmd] {
    ROTOR_CHECK(!hard || model == "gumbel-vae", "vision: --hard applies to gumbel-vae only, not ", model);
    ROTOR_CHECK(o.max_steps >= 0 && train_limit >= 0 && test_limit >= 0,
                "vision: --max-steps, --train-limit and --test-limit must be >= 0");
    rotor::Rng rng(o.seed);
    nlohmann::json config = parse_model_config(model_config);
    if (hard) {
      ROTOR_CHECK(config.is_object(), "vision: --model-config must be a JSON object, got ", config.dump());
      config["hard"] = true;
    }
    auto net = models::make_vision_model(model, config, rng);
    ROTOR_CHECK(net->training_phases().empty() || (cmd.count("--lr") == 0 && cmd.count("--weight-decay") == 0),
                "vision: ", model, " trains each phase with its own Adam; set \"lr\", \"beta1\" and \"beta2\" "
                "through --model-config, not --lr / --weight-decay");
    models::check_run_directory(out);
    const models::VisionData train = models::load_vision_data(data, true, train_limit);
    const models::VisionData test = models::load_vision_data(data, false, test_limit);
    double smoothed = NAN;
    std::unique_ptr<rotor::cli::Progress> progress;
    const auto run = models::train_vision_model(*net, train, test, o, [&](int64_t step, int64_t total, double loss) {
      if (!progress) progress = std::make_unique<rotor::cli::Progress>("vision " + model, total);
      smoothed = std::isnan(smoothed) ? loss : 0.98 * smoothed + 0.02 * loss;
      char text[64];
      std::snprintf(text, sizeof text, "loss %.4f", smoothed);
      progress->update(step, text);
    });
    if (progress) progress->finish();
    models::save_vision_run(out, *net, o, run);
    print_metrics(run.metrics);
  });
}

void setup_eval(CLI::App& cmd) {
  static std::string dir, data = rotor::io::kFashionMnistDir;
  static int64_t test_limit = 0;
  static uint64_t seed = 1;
  static int threads = 0;
  cmd.add_option("--model", dir, "run directory written by rotor vision train")->required();
  cmd.add_option("--data", data, "Fashion-MNIST directory")->capture_default_str();
  cmd.add_option("--test-limit", test_limit, "evaluate on the first N test images (0: all)");
  cmd.add_option("--seed", seed, "seed of the evaluation noise (VAE samples)")->capture_default_str();
  rotor::cli::add_threads_option(cmd, threads);
  cmd.callback([] {
    ROTOR_CHECK(test_limit >= 0, "vision: --test-limit must be >= 0");
    auto net = models::load_vision_model(dir);
    const models::VisionData test = models::load_vision_data(data, false, test_limit);
    rotor::Rng rng(seed);
    print_metrics(net->evaluate(test, rng));
  });
}

void check_png_name(const std::string& out) {
  ROTOR_CHECK(out.size() > 4 && out.substr(out.size() - 4) == ".png", "vision: --out must name a .png file, got '",
              out, "'");
}

void write_grid(const std::string& out, const rotor::Tensor& images, int64_t columns, const char* what) {
  int64_t width = 0, height = 0;
  const auto grid = rotor::io::image_grid(images, columns, 2, width, height);
  rotor::io::write_png_gray(out, grid, width, height);
  std::printf("wrote %s (%lldx%lld, %lld %s)\n", out.c_str(), static_cast<long long>(width),
              static_cast<long long>(height), static_cast<long long>(images.size(0)), what);
}

void setup_sample(CLI::App& cmd) {
  static std::string dir, out;
  static int64_t count = 64, columns = 8;
  static uint64_t seed = 1;
  static int threads = 0;
  cmd.add_option("--model", dir, "run directory of a generative model")->required();
  cmd.add_option("--out", out, "PNG file to write (a grid of samples)")->required();
  cmd.add_option("--count", count, "number of samples")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_option("--columns", columns, "grid columns")->check(rotor::cli::positive)->capture_default_str();
  cmd.add_option("--seed", seed, "sampling seed")->capture_default_str();
  rotor::cli::add_threads_option(cmd, threads);
  cmd.callback([] {
    check_png_name(out);
    auto net = models::load_vision_model(dir);
    ROTOR_CHECK(net->generative(), "vision: ", net->name(), " is a classifier; it has no samples");
    rotor::Rng rng(seed);
    write_grid(out, net->sample(count, rng), columns, "samples");
  });
}

// Rows of `columns` test images, each followed by a row of their reconstructions.
void setup_reconstruct(CLI::App& cmd) {
  static std::string dir, out, data = rotor::io::kFashionMnistDir;
  static int64_t count = 32, columns = 8;
  static int threads = 0;
  cmd.add_option("--model", dir, "run directory of an autoencoder (vqvae, vqgan)")->required();
  cmd.add_option("--out", out, "PNG file to write: rows of test images, each above a row of their reconstructions")
      ->required();
  cmd.add_option("--data", data, "Fashion-MNIST directory")->capture_default_str();
  cmd.add_option("--count", count, "number of test images (the first ones)")->check(rotor::cli::positive)
      ->capture_default_str();
  cmd.add_option("--columns", columns, "grid columns (must divide --count)")->check(rotor::cli::positive)
      ->capture_default_str();
  rotor::cli::add_threads_option(cmd, threads);
  cmd.callback([] {
    check_png_name(out);
    ROTOR_CHECK(count % columns == 0, "vision: --columns ", columns, " does not divide --count ", count);
    auto net = models::load_vision_model(dir);
    const models::VisionData test = models::load_vision_data(data, false, count);
    ROTOR_CHECK(test.size() == count, "vision: the test set has only ", test.size(), " images, --count is ", count);
    const rotor::Tensor recon = net->reconstruct(test.images);
    const rotor::Tensor originals = test.images.reshape({count, 28, 28});
    rotor::Tensor sheet = rotor::Tensor::empty({2 * count, 28, 28});
    for (int64_t row = 0; row < count / columns; ++row) {
      sheet.narrow(0, 2 * row * columns, columns).copy_(originals.narrow(0, row * columns, columns));
      sheet.narrow(0, (2 * row + 1) * columns, columns).copy_(recon.narrow(0, row * columns, columns));
    }
    write_grid(out, sheet, columns, "images: test images above their reconstructions");
  });
}

void setup_fid(CLI::App& cmd) {
  static std::string dir, classifier_dir, data = rotor::io::kFashionMnistDir, json_out;
  static int64_t count = 10000, test_limit = 0;
  static uint64_t seed = 1;
  static bool train_images = false, binarized = false;
  static int threads = 0;
  auto* model_opt = cmd.add_option("--model", dir, "run directory of a generative model");
  auto* train_opt = cmd.add_flag("--train-images", train_images,
                                 "score --count training images instead of samples (the floor of the table)");
  model_opt->excludes(train_opt);
  cmd.add_option("--classifier", classifier_dir, "run directory of a cnn (rotor vision train --model cnn)")
      ->required();
  cmd.add_option("--count", count, "samples (or training images) to score")->check(rotor::cli::positive)
      ->capture_default_str();
  cmd.add_option("--data", data, "Fashion-MNIST directory (the test set is the reference)")->capture_default_str();
  cmd.add_option("--test-limit", test_limit, "use the first N test images as the reference (0: all)");
  cmd.add_flag("--binarized", binarized, "with --train-images: binarize training and test images");
  cmd.add_option("--seed", seed, "sampling seed")->capture_default_str();
  cmd.add_option("--json", json_out, "also write the figures to this JSON file");
  rotor::cli::add_threads_option(cmd, threads);
  cmd.callback([] {
    ROTOR_CHECK(!dir.empty() || train_images, "vision fid: give --model DIR or --train-images");
    ROTOR_CHECK(!binarized || train_images, "vision fid: --binarized applies to --train-images only (a model's "
                                            "samples are scored in the form of its own data)");
    ROTOR_CHECK(test_limit >= 0, "vision: --test-limit must be >= 0");
    auto classifier = std::dynamic_pointer_cast<models::FashionCnn>(models::load_vision_model(classifier_dir));
    ROTOR_CHECK(classifier, "vision fid: --classifier '", classifier_dir, "' is not a cnn run");
    const models::VisionData test = models::load_vision_data(data, false, test_limit);
    rotor::Tensor samples, references;
    std::string scored;
    if (train_images) {
      const models::VisionData train = models::load_vision_data(data, true, count);
      samples = binarized ? models::binarize(train.images) : train.images;
      references = binarized ? models::binarize(test.images) : test.images;
      scored = binarized ? "training images (binarized)" : "training images";
    } else {
      auto net = models::load_vision_model(dir);
      rotor::Rng rng(seed);
      samples = models::draw_samples(*net, count, rng);
      references = models::reference_images(*net, test);
      scored = net->name();
    }
    const models::SampleQuality q = models::sample_quality(*classifier, samples, references);
    nlohmann::json out = q.to_json();
    out["scored"] = scored;
    if (!json_out.empty()) rotor::io::write_file_atomic(json_out, out.dump(2) + "\n");
    print_metrics(out);
  });
}

void setup(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  setup_train(*cmd.add_subcommand("train", "train a Fashion-MNIST model (" + known_models() + ")"));
  setup_eval(*cmd.add_subcommand("eval", "test-set figures of a trained model"));
  setup_sample(*cmd.add_subcommand(
      "sample", "a PNG grid of samples from a generative model with a prior (vqvae has none: use reconstruct; vqgan "
                "decodes codes drawn from its transformer prior)"));
  setup_reconstruct(*cmd.add_subcommand(
      "reconstruct", "a PNG grid of test images above their reconstructions by an autoencoder (vqvae, vqgan)"));
  setup_fid(*cmd.add_subcommand("fid", "sample quality: fid_rotor (Frechet distance on rotor's cnn features, not "
                                       "the Inception FID) and the class spread of the samples"));
}

const bool registered =
    rotor::cli::register_command("vision", "Fashion-MNIST classifier and generative models: train, eval, sample, reconstruct", setup);

}  // namespace
