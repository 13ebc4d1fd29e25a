#pragma once
// Training, saving and loading of the `rotor vision` models (rotor/models/vision_model.h).
//
// A run directory (written by save_vision_run through rotor/io/checkpoint.h, so the checkpoint appears
// atomically; the other files are each written atomically after it):
//   config.json        the model configuration ({"model": "cnn", ...}) and "training": the options used
//   model.safetensors  parameters and buffers (BatchNorm running statistics)
//   metrics.csv        step, epoch, train_loss (mean over the steps since the previous row; for phased models
//                      the loss of each step's first phase: GANs the critic's / discriminator's, vqgan the
//                      autoencoder's in stage 1 and the prior's in stage 2), then the model's step figures
//                      (GANs: critic_loss or discriminator_loss, generator_loss, wgan-gp's wasserstein and
//                      gradient_penalty; vqgan: see rotor/models/vqgan.h)
//   loss.svg           the training loss curve
//   wasserstein.svg    wgan-gp: the critic's Wasserstein estimate over training
//   metrics.json       the final test figures (test_accuracy, test_nll_nats, ...) and train_seconds
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rotor/models/vision_model.h"

namespace rotor::models {

struct VisionTrainOptions {
  int64_t epochs = 3;
  int64_t batch = 64;
  int64_t max_steps = 0;  // > 0: stop after this many steps (before the epochs are done)
  double lr = 1e-3;
  bool cosine = true;  // cosine decay of the learning rate from lr to 0 over the run (else constant)
  double weight_decay = 1e-4;  // AdamW (decoupled)
  uint64_t seed = 1;
  int64_t log_every = 50;  // steps per metrics.csv row
  nlohmann::json to_json() const;
};

struct VisionRun {
  std::vector<int64_t> steps;      // metrics.csv rows
  std::vector<double> epochs, losses;
  std::map<std::string, std::vector<double>> figures;  // per row: the means of the model's step figures (NaN: none)
  nlohmann::json metrics = nlohmann::json::object();  // final figures
  double train_seconds = 0;
};

// Called after every step with (step, total steps, loss of that step).
using VisionStepCallback = std::function<void(int64_t, int64_t, double)>;

// The trainer's random stream (batch order, the models' training noise, the evaluation noise) for --seed
// `seed`: Rng(seed).split(kVisionTrainingStream), not Rng(seed) itself, because `rotor vision train` draws
// the initial weights from Rng(seed) and the two streams would otherwise be the same numbers (a vae's
// reparameterization noise of its first ~460 steps was then a function of its initial weights).
inline constexpr uint64_t kVisionTrainingStream = 0x747261696e;  // "train"
Rng vision_training_rng(uint64_t seed);

// Trains with AdamW on `train` (adversarial models: one Adam per training phase, see vision_model.h), shuffled
// each epoch from vision_training_rng(options.seed), then evaluates on `test`.
// A non-finite loss is an error naming the step.
VisionRun train_vision_model(VisionModel& model, const VisionData& train, const VisionData& test,
                             const VisionTrainOptions& options, const VisionStepCallback& on_step = {});

// Checks before training that `dir` can take a run: its parent exists; dir is absent, empty, or a
// previous run (has config.json).
void check_run_directory(const std::string& dir);
void save_vision_run(const std::string& dir, const VisionModel& model, const VisionTrainOptions& options,
                     const VisionRun& run);
// Rebuilds the model of a run directory (errors name the directory when it is not one).
std::shared_ptr<VisionModel> load_vision_model(const std::string& dir);

}  // namespace rotor::models
