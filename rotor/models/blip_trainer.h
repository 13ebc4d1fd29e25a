#pragma once
// Training, evaluation, saving and loading of BlipModel (`rotor clip train --loss blip`, `rotor clip caption`).
//
// Training: clip_trainer.h's loop (AdamW, warmup + cosine, shuffled batches, a caption drawn per image per
// step) on BlipModel::losses; the hard negatives are drawn from their own generator, seeded from
// options.seed, so a clip run's batches and captions are those of a blip run with the same seed.
//
// Evaluation (evaluate_blip, on the test set):
//   the clip figures of evaluate_clip on the model's ITC towers (zero_shot_accuracy, recall@K ...)
//   itm_accuracy        balanced pairs: test image i with a caption of its class (positive) and with a caption
//                       of a uniformly drawn other class (negative), both random_caption() from
//                       Rng(caption_seed + 1); a pair is called a match when P(match) > 1/2; the fraction of
//                       the 2N pairs called right (itm_positive_accuracy / itm_negative_accuracy: per half).
//                       The negatives are random, not hard ones.
//   caption_class_rate  the fraction of test images whose greedy caption names its class and no other
//                       (classes_named() of clip_captions.h)
//   caption_samples     the first 5 test images' greedy captions with their class names
//
// The run directory is a clip run's (clip_trainer.h) with config.json holding BlipConfig ("model": "blip")
// and metrics.csv the columns step, images_seen, train_loss, itc_loss, itm_loss, lm_loss, hard_negatives,
// lr, scale, bias (empty).
#include <memory>
#include <string>
#include <vector>

#include "rotor/models/blip_model.h"
#include "rotor/models/clip_trainer.h"

namespace rotor::models {

ClipRun train_blip(BlipModel& model, const VisionData& train, const VisionData& test, const ClipTrainOptions& options,
                   const ClipStepCallback& on_step = {});
nlohmann::json evaluate_blip(BlipModel& model, const VisionData& test, uint64_t caption_seed);
// The fraction of captions naming exactly the class labels[i] (classes_named() == {labels[i]}).
double caption_class_rate(const std::vector<std::string>& captions, const std::vector<int64_t>& labels);

void save_blip_run(const std::string& dir, const BlipModel& model, const ClipTrainOptions& options, const ClipRun& run);
// A blip run; a clip run is an error saying so.
std::unique_ptr<BlipModel> load_blip_model(const std::string& dir);

}  // namespace rotor::models
