#pragma once
// Training, evaluation, saving and loading of ClipModel (`rotor clip`).
//
// Training: AdamW (decoupled weight decay on every parameter), linear warmup over the first 5% of the steps
// then cosine decay to 0. Each step takes the next `batch` images of a shuffled pass over the training set
// (reshuffled each pass, from vision_training_rng(options.seed), a stream apart from the Rng(seed) the CLI
// initialises the model from) and draws every image's caption with random_caption() from the same
// generator, so the same seed gives the same run.
//
// Evaluation (evaluate_clip, on the test set):
//   zero_shot_accuracy  argmax over classes of image . prompt_c, prompt_c = the normalised mean of the
//                       normalised embeddings of the class's 24 captions (prompt ensembling)
//   i2t_recall@K        each test image queries the test captions (one per image, drawn with
//                       random_caption() from Rng(caption_seed) in test-set order); a hit when a caption of
//                       the image's class ranks <= K (rotor/metrics/retrieval.h: tied scores share the best
//                       rank). Class-level: with 240 distinct captions most captions repeat ~40 times, so
//                       "the image's own caption" is not an identifiable item.
//   t2i_recall@K        each test caption queries the test images; a hit when an image of its class ranks <= K
//   i2t_pair_recall@K   exact pairs: image i's own caption i ranks <= K (identical captions tie, so this is
//                       "the caption text of image i is among the top-K scores")
//   t2i_pair_recall@K   caption i's own image i ranks <= K among 10,000 images (near chance for class captions:
//                       a caption says nothing that singles out one of the ~1,000 images of its class)
//
// A run directory (the checkpoint of rotor/io/checkpoint.h, then each other file atomically):
//   config.json        ClipConfig ("model": "clip", ...) and "training": the options
//   model.safetensors  parameters and the CNN's BatchNorm statistics
//   tokenizer.tiktoken the caption tokenizer's ranks
//   metrics.csv        step, images_seen, train_loss (mean since the previous row), lr, scale (exp(log_scale)), bias
//   loss.svg           the training loss
//   metrics.json       the evaluation figures above, train_seconds, steps, images_seen
#include <functional>
#include <utility>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rotor/io/checkpoint.h"
#include "rotor/models/clip_model.h"
#include "rotor/models/fashion_data.h"
#include "rotor/models/vision_model.h"

namespace rotor::models {

struct ClipTrainOptions {
  int64_t batch = 64;
  int64_t steps = 1000;
  double lr = 1e-3;
  double weight_decay = 1e-4;
  uint64_t seed = 1;
  uint64_t caption_seed = 1;  // the test captions of the recall figures
  int64_t log_every = 50;
  nlohmann::json to_json() const;
};

struct ClipRun {
  std::vector<int64_t> steps;
  std::vector<double> losses, lrs, scales, biases;
  std::vector<std::vector<double>> parts;  // per row: the loss's named parts (BLIP's itc, itm, lm), means
  nlohmann::json metrics = nlohmann::json::object();
  double train_seconds = 0;
};

using ClipStepCallback = std::function<void(int64_t step, int64_t total, double loss)>;

// The training loop of clip and blip runs (optimizer, schedule, batches and captions as above). pair_loss
// gives a step's loss of a batch (images, their labels, their drawn captions) and its parts to log;
// scale_bias reads the logit scale and bias (NaN: none) for metrics.csv after a logged step. A non-finite loss
// is an error naming the step. Fills everything but metrics.
struct PairStepLoss {
  Var loss;
  std::vector<double> parts;
};
using PairLossFn = std::function<PairStepLoss(const Tensor& images, const std::vector<int64_t>& labels,
                                              const std::vector<std::string>& captions)>;
ClipRun train_image_text(nn::Module& model, const VisionData& train, const ClipTrainOptions& options,
                         const PairLossFn& pair_loss, const std::function<std::pair<double, double>()>& scale_bias,
                         const ClipStepCallback& on_step);
// metrics.json's train_seconds, steps and images_seen.
void add_training_figures(ClipRun& run, const ClipTrainOptions& options);

// A non-finite loss is an error naming the step.
ClipRun train_clip(ClipModel& model, const VisionData& train, const VisionData& test, const ClipTrainOptions& options,
                   const ClipStepCallback& on_step = {});

// Predicted class per image by zero-shot prompts (ensembled as above).
std::vector<int64_t> zero_shot_predict(ClipModel& model, const Tensor& images);
nlohmann::json evaluate_clip(ClipModel& model, const VisionData& test, uint64_t caption_seed);

void save_clip_run(const std::string& dir, const ClipModel& model, const ClipTrainOptions& options, const ClipRun& run);
// The run directory of either model: config (plus "training"), parameters and buffers, the tokenizer,
// metrics.csv (step, images_seen, train_loss, the named parts, lr, scale, bias), loss.svg, metrics.json.
void save_image_text_run(const std::string& dir, const nlohmann::json& config, const nn::Module& model,
                         const io::TensorMap& buffers, const std::vector<text::RankedToken>& ranks,
                         const ClipTrainOptions& options, const ClipRun& run, const std::vector<std::string>& part_names,
                         const std::string& title);
std::unique_ptr<ClipModel> load_clip_model(const std::string& dir);
// "clip" or "blip": the model of a run directory (errors for anything else).
std::string image_text_run_kind(const std::string& dir);
// The checkpoint of a run of `model` ("clip" or "blip"); a run of the other model is an error naming both.
io::Checkpoint load_image_text_checkpoint(const std::string& dir, const std::string& model);
// The caption tokenizer saved in a run directory.
std::vector<text::RankedToken> load_run_tokenizer(const std::string& dir);
// A run of `kind` as Model: built from Config::from_json of its config and its tokenizer, then given the saved
// parameters and buffers, in evaluation mode.
template <class Model, class Config>
std::unique_ptr<Model> load_image_text_model(const std::string& dir, const std::string& kind) {
  io::Checkpoint checkpoint = load_image_text_checkpoint(dir, kind);
  nlohmann::json config = checkpoint.config;
  config.erase("training");
  Rng rng(0);
  auto model = std::make_unique<Model>(Config::from_json(config), load_run_tokenizer(dir), rng);
  restore_checkpoint_tensors(*model, checkpoint.model);
  return model;
}
// The training options a run directory (clip or blip) was written with.
ClipTrainOptions load_clip_options(const std::string& dir);

}  // namespace rotor::models
