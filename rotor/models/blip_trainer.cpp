#include "rotor/models/blip_trainer.h"

#include <cmath>

#include "rotor/core/error.h"
#include "rotor/models/clip_captions.h"

namespace rotor::models {

namespace {

constexpr uint64_t kNegativeSeedOffset = 0x9e3779b97f4a7c15ULL;  // the hard negatives' own stream
constexpr int64_t kCaptionSamples = 5;

}  // namespace

ClipRun train_blip(BlipModel& model, const VisionData& train, const VisionData& test, const ClipTrainOptions& options,
                   const ClipStepCallback& on_step) {
  ROTOR_CHECK(test.size() >= 1, "clip: need at least 1 test image");
  Rng negatives(options.seed ^ kNegativeSeedOffset);
  ClipRun run = train_image_text(
      model, train, options,
      [&](const Tensor& images, const std::vector<int64_t>& labels, const std::vector<std::string>& captions) {
        const BlipModel::Losses l = model.losses(images, captions, labels, negatives);
        return PairStepLoss{l.total, {l.itc.item(), l.itm.item(), l.lm.item(), static_cast<double>(l.negatives)}};
      },
      [&] { return std::pair<double, double>{std::exp(model.clip().log_scale().item()), NAN}; }, on_step);
  run.metrics = evaluate_blip(model, test, options.caption_seed);
  add_training_figures(run, options);
  return run;
}

double caption_class_rate(const std::vector<std::string>& captions, const std::vector<int64_t>& labels) {
  ROTOR_CHECK(!captions.empty() && captions.size() == labels.size(), "blip: ", captions.size(), " captions for ",
              labels.size(), " labels");
  int64_t right = 0;
  for (size_t i = 0; i < captions.size(); ++i) right += classes_named(captions[i]) == std::vector<int64_t>{labels[i]};
  return static_cast<double>(right) / static_cast<double>(captions.size());
}

nlohmann::json evaluate_blip(BlipModel& model, const VisionData& test, uint64_t caption_seed) {
  nlohmann::json metrics = evaluate_clip(model.clip(), test, caption_seed);
  const int64_t n = test.size();
  const int64_t* y = test.labels.data<int64_t>();
  const std::vector<int64_t> labels(y, y + n);

  Rng rng(caption_seed + 1);
  std::vector<std::string> positives, negatives;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = labels[static_cast<size_t>(i)];
    positives.push_back(random_caption(c, rng));
    const int64_t other = (c + 1 + static_cast<int64_t>(rng.uniform_int(kFashionClasses - 1))) % kFashionClasses;
    negatives.push_back(random_caption(other, rng));
  }
  const std::vector<double> p_pos = model.match_probabilities(test.images, positives);
  const std::vector<double> p_neg = model.match_probabilities(test.images, negatives);
  int64_t right_pos = 0, right_neg = 0;
  for (int64_t i = 0; i < n; ++i) {
    right_pos += p_pos[static_cast<size_t>(i)] > 0.5;
    right_neg += p_neg[static_cast<size_t>(i)] <= 0.5;
  }
  metrics["itm_accuracy"] = static_cast<double>(right_pos + right_neg) / static_cast<double>(2 * n);
  metrics["itm_positive_accuracy"] = static_cast<double>(right_pos) / static_cast<double>(n);
  metrics["itm_negative_accuracy"] = static_cast<double>(right_neg) / static_cast<double>(n);

  const std::vector<std::string> captions = model.generate_captions(test.images);
  metrics["caption_class_rate"] = caption_class_rate(captions, labels);
  nlohmann::json samples = nlohmann::json::array();
  for (int64_t i = 0; i < std::min(kCaptionSamples, n); ++i)
    samples.push_back({{"class", class_names()[static_cast<size_t>(labels[static_cast<size_t>(i)])][0]},
                       {"caption", captions[static_cast<size_t>(i)]}});
  metrics["caption_samples"] = samples;
  return metrics;
}

void save_blip_run(const std::string& dir, const BlipModel& model, const ClipTrainOptions& options, const ClipRun& run) {
  save_image_text_run(dir, model.config().to_json(), model, model.buffers(), model.clip().ranks(), options, run,
                      {"itc_loss", "itm_loss", "lm_loss", "hard_negatives"},
                      cat("blip loss (itc + itm + lm), batch ", options.batch));
}

std::unique_ptr<BlipModel> load_blip_model(const std::string& dir) {
  return load_image_text_model<BlipModel, BlipConfig>(dir, "blip");
}

}  // namespace rotor::models
