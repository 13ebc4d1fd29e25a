#include "rotor/models/clip_trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "rotor/autograd/linalg.h"
#include "rotor/autograd/profile.h"
#include "rotor/autograd/views.h"
#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/io/checkpoint.h"
#include "rotor/io/metrics_csv.h"
#include "rotor/metrics/retrieval.h"
#include "rotor/models/clip_captions.h"
#include "rotor/models/vision_model.h"
#include "rotor/models/vision_trainer.h"
#include "rotor/models/loss_plot.h"
#include "rotor/optim/optimizer.h"
#include "rotor/optim/schedule.h"
#include "rotor/text/rank_file.h"

namespace rotor::models {

namespace fs = std::filesystem;

nlohmann::json ClipTrainOptions::to_json() const {
  return {{"batch", batch}, {"steps", steps}, {"lr", lr}, {"weight_decay", weight_decay},
          {"seed", seed},   {"caption_seed", caption_seed}, {"log_every", log_every}};
}

ClipRun train_image_text(nn::Module& model, const VisionData& train, const ClipTrainOptions& options,
                         const PairLossFn& pair_loss, const std::function<std::pair<double, double>()>& scale_bias,
                         const ClipStepCallback& on_step) {
  ROTOR_CHECK(train.size() >= 2, "clip: need at least 2 training images, got ", train.size());
  ROTOR_CHECK(options.batch >= 2, "clip: --batch must be >= 2 (a contrastive batch needs negatives), got ", options.batch);
  ROTOR_CHECK(options.batch <= train.size(), "clip: --batch ", options.batch, " is larger than the ", train.size(),
              " training images");
  ROTOR_CHECK(options.steps >= 1 && options.lr > 0 && options.weight_decay >= 0 && options.log_every >= 1,
              "clip: bad training options ", options.to_json().dump());
  // not Rng(seed) itself: `rotor clip train` draws the initial weights from that (see vision_training_rng)
  Rng rng = vision_training_rng(options.seed);
  optim::AdamOptions adam;
  adam.weight_decay = options.weight_decay;
  optim::Adam optimizer(model.parameters(), options.lr, adam);
  const int64_t warmup = options.steps / 20;
  const optim::WarmupCosine schedule{options.lr, 0.0, warmup, options.steps};
  const int64_t per_pass = train.size() / options.batch;
  const int64_t* labels = train.labels.data<int64_t>();

  ClipRun run;
  const auto start = std::chrono::steady_clock::now();
  model.train();
  std::vector<int64_t> order;
  double interval = 0;
  std::vector<double> interval_parts;
  int64_t interval_steps = 0;
  for (int64_t step = 0; step < options.steps; ++step) {
    if (step % per_pass == 0) order = shuffled_order(train.size(), rng);
    const int64_t begin = (step % per_pass) * options.batch;
    const VisionData batch = gather_batch(train, order, begin, options.batch);
    std::vector<std::string> captions;
    std::vector<int64_t> batch_labels;
    for (int64_t i = 0; i < options.batch; ++i) {
      batch_labels.push_back(labels[order[static_cast<size_t>(begin + i)]]);
      captions.push_back(random_caption(batch_labels.back(), rng));
    }
    const double lr = schedule.at(step);
    optimizer.set_lr(lr);
    optimizer.zero_grad();
    const PairStepLoss loss = pair_loss(batch.images, batch_labels, captions);
    const double value = loss.loss.item();
    ROTOR_CHECK(std::isfinite(value), "clip: the loss is ", value, " at step ", step + 1);
    loss.loss.backward();
    optimizer.step();
    interval += value;
    interval_parts.resize(loss.parts.size(), 0.0);
    for (size_t k = 0; k < loss.parts.size(); ++k) interval_parts[k] += loss.parts[k];
    ++interval_steps;
    if ((step + 1) % options.log_every == 0 || step + 1 == options.steps) {
      const double count = static_cast<double>(interval_steps);
      run.steps.push_back(step + 1);
      run.losses.push_back(interval / count);
      for (double& p : interval_parts) p /= count;
      run.parts.push_back(interval_parts);
      run.lrs.push_back(lr);
      const auto [scale, bias] = scale_bias();
      run.scales.push_back(scale);
      run.biases.push_back(bias);
      interval = 0, interval_steps = 0, interval_parts.assign(interval_parts.size(), 0.0);
    }
    if (on_step) on_step(step + 1, options.steps, value);
  }
  run.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  autograd::profile_report("clip", static_cast<int>(options.steps));  // ROTOR_PROFILE=1
  return run;
}

ClipRun train_clip(ClipModel& model, const VisionData& train, const VisionData& test, const ClipTrainOptions& options,
                   const ClipStepCallback& on_step) {
  ROTOR_CHECK(test.size() >= 1, "clip: need at least 1 test image");
  ClipRun run = train_image_text(
      model, train, options,
      [&](const Tensor& images, const std::vector<int64_t>&, const std::vector<std::string>& captions) {
        return PairStepLoss{model.loss(images, captions), {}};
      },
      [&] {
        return std::pair<double, double>{std::exp(model.log_scale().item()),
                                         model.bias().defined() ? model.bias().item() : NAN};
      },
      on_step);
  run.metrics = evaluate_clip(model, test, options.caption_seed);
  add_training_figures(run, options);
  return run;
}

void add_training_figures(ClipRun& run, const ClipTrainOptions& options) {
  run.metrics["train_seconds"] = run.train_seconds;
  run.metrics["steps"] = options.steps;
  run.metrics["images_seen"] = options.steps * options.batch;
}

namespace {

// a [n, e] . b[m, e]^T -> [n, m] f32, contiguous.
Tensor similarities(const Tensor& a, const Tensor& b) {
  autograd::NoGradGuard no_grad;
  return autograd::matmul(Var(a), autograd::transpose(Var(b), 0, 1)).value().contiguous();
}

// [10, embed]: the normalised mean of each class's normalised prompt embeddings.
Tensor class_prompt_embeddings(ClipModel& model) {
  std::vector<std::string> prompts;
  std::vector<int64_t> counts;
  for (int64_t c = 0; c < kFashionClasses; ++c) {
    const auto p = class_prompts(c);
    prompts.insert(prompts.end(), p.begin(), p.end());
    counts.push_back(static_cast<int64_t>(p.size()));
  }
  const Tensor t = model.text_embeddings(prompts);
  const int64_t e = t.size(1);
  std::vector<float> out(static_cast<size_t>(kFashionClasses * e), 0.0f);
  const float* x = t.data<float>();
  int64_t row = 0;
  for (int64_t c = 0; c < kFashionClasses; ++c) {
    float* o = out.data() + c * e;
    for (int64_t i = 0; i < counts[static_cast<size_t>(c)]; ++i, ++row)
      for (int64_t d = 0; d < e; ++d) o[d] += x[row * e + d];
    double norm = 0;
    for (int64_t d = 0; d < e; ++d) norm += double(o[d]) * o[d];
    const float inv = static_cast<float>(1.0 / std::max(std::sqrt(norm), 1e-12));
    for (int64_t d = 0; d < e; ++d) o[d] *= inv;
  }
  return Tensor::from_vector(out, {kFashionClasses, e});
}

std::vector<int64_t> argmax_rows(const Tensor& scores) {
  const int64_t n = scores.size(0), m = scores.size(1);
  const float* s = scores.data<float>();
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < m; ++j)
      if (s[i * m + j] > s[i * m + best]) best = j;
    out[static_cast<size_t>(i)] = best;
  }
  return out;
}

// Hits at K = 1 and 5 of every query row of q against c, class-level and exact-pair, in blocks of rows.
void retrieval_hits(const Tensor& q, const Tensor& c, const std::vector<int64_t>& labels, std::vector<int64_t>& class_hits,
                    std::vector<int64_t>& pair_hits) {
  const int64_t n = q.size(0), block = 1000;
  std::vector<int64_t> index(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) index[static_cast<size_t>(i)] = i;
  for (int64_t b = 0; b < n; b += block) {
    const int64_t rows = std::min(block, n - b);
    const Tensor s = similarities(q.narrow(0, b, rows).contiguous(), c);
    metrics::count_retrieval_hits(s.data<float>(), rows, n, labels.data() + b, labels.data(), {1, 5}, class_hits);
    metrics::count_retrieval_hits(s.data<float>(), rows, n, index.data() + b, index.data(), {1, 5}, pair_hits);
  }
}

}  // namespace

std::vector<int64_t> zero_shot_predict(ClipModel& model, const Tensor& images) {
  return argmax_rows(similarities(model.image_embeddings(images), class_prompt_embeddings(model)));
}

nlohmann::json evaluate_clip(ClipModel& model, const VisionData& test, uint64_t caption_seed) {
  const int64_t n = test.size();
  ROTOR_CHECK(n >= 1, "clip: empty test set");
  const int64_t* y = test.labels.data<int64_t>();
  const std::vector<int64_t> labels(y, y + n);
  const Tensor images = model.image_embeddings(test.images);
  const std::vector<int64_t> predicted =
      argmax_rows(similarities(images, class_prompt_embeddings(model)));
  int64_t right = 0;
  for (int64_t i = 0; i < n; ++i) right += predicted[static_cast<size_t>(i)] == labels[static_cast<size_t>(i)];

  Rng caption_rng(caption_seed);
  std::vector<std::string> captions;
  for (int64_t i = 0; i < n; ++i) captions.push_back(random_caption(labels[static_cast<size_t>(i)], caption_rng));
  const Tensor texts = model.text_embeddings(captions);
  std::vector<int64_t> i2t, i2t_pair, t2i, t2i_pair;
  retrieval_hits(images, texts, labels, i2t, i2t_pair);
  retrieval_hits(texts, images, labels, t2i, t2i_pair);
  const auto frac = [n](int64_t h) { return static_cast<double>(h) / static_cast<double>(n); };
  return {{"zero_shot_accuracy", frac(right)},
          {"i2t_recall@1", frac(i2t[0])},
          {"i2t_recall@5", frac(i2t[1])},
          {"t2i_recall@1", frac(t2i[0])},
          {"t2i_recall@5", frac(t2i[1])},
          {"i2t_pair_recall@1", frac(i2t_pair[0])},
          {"i2t_pair_recall@5", frac(i2t_pair[1])},
          {"t2i_pair_recall@1", frac(t2i_pair[0])},
          {"t2i_pair_recall@5", frac(t2i_pair[1])},
          {"test_images", n},
          {"caption_seed", caption_seed}};
}

void save_image_text_run(const std::string& dir, const nlohmann::json& config, const nn::Module& model,
                         const io::TensorMap& buffers, const std::vector<text::RankedToken>& ranks,
                         const ClipTrainOptions& options, const ClipRun& run, const std::vector<std::string>& part_names,
                         const std::string& title) {
  io::check_checkpoint_target(dir, "clip: --out");
  io::Checkpoint checkpoint;
  checkpoint.config = config;
  checkpoint.config["training"] = options.to_json();
  checkpoint.model = model.state_dict();
  for (const auto& [name, tensor] : buffers) checkpoint.model[name] = tensor;
  checkpoint.state.step = run.steps.empty() ? 0 : run.steps.back();
  checkpoint.files["tokenizer.tiktoken"] = text::format_tiktoken_ranks(ranks);
  io::save_checkpoint(dir, checkpoint);

  std::string csv = "step,images_seen,train_loss,";
  for (const std::string& name : part_names) csv += name + ",";
  csv += "lr,scale,bias\n";
  std::vector<MetricRow> rows;
  for (size_t i = 0; i < run.steps.size(); ++i) {
    csv += cat(run.steps[i], ",", run.steps[i] * options.batch, ",", io::format_number(run.losses[i]), ",");
    for (size_t k = 0; k < part_names.size(); ++k)
      csv += cat(k < run.parts[i].size() ? io::format_number(run.parts[i][k]) : std::string(), ",");
    csv += cat(io::format_number(run.lrs[i]), ",", io::format_number(run.scales[i]), ",",
               std::isnan(run.biases[i]) ? std::string() : io::format_number(run.biases[i]), "\n");
    rows.push_back({run.steps[i], run.losses[i], NAN, run.lrs[i], NAN});
  }
  io::write_file_atomic((fs::path(dir) / "metrics.csv").string(), csv);
  write_loss_plot((fs::path(dir) / "loss.svg").string(), rows, title);
  io::write_file_atomic((fs::path(dir) / "metrics.json").string(), run.metrics.dump(2) + "\n");
}

void save_clip_run(const std::string& dir, const ClipModel& model, const ClipTrainOptions& options, const ClipRun& run) {
  save_image_text_run(dir, model.config().to_json(), model, model.buffers(), model.ranks(), options, run, {},
                      cat(contrastive_loss_name(model.config().loss), " loss, batch ", options.batch));
}

namespace {

io::Checkpoint load_any_checkpoint(const std::string& dir) {
  ROTOR_CHECK(fs::is_directory(dir), "clip: '", dir, "' is not a directory (want a run written by rotor clip train)");
  ROTOR_CHECK(io::checkpoint_exists(dir), "clip: '", dir, "' holds no rotor clip run (no complete checkpoint)");
  io::Checkpoint checkpoint = io::load_checkpoint(dir);
  const std::string model = checkpoint.config.is_object() ? checkpoint.config.value("model", "") : "";
  ROTOR_CHECK(model == "clip" || model == "blip", "clip: ", dir, "/config.json is not a clip or blip model's");
  return checkpoint;
}

}  // namespace

std::string image_text_run_kind(const std::string& dir) {
  return load_any_checkpoint(dir).config.value("model", "");
}

io::Checkpoint load_image_text_checkpoint(const std::string& dir, const std::string& model) {
  io::Checkpoint checkpoint = load_any_checkpoint(dir);
  const std::string kind = checkpoint.config.value("model", "");
  ROTOR_CHECK(kind == model, "clip: ", dir, " is a ", kind, " run, not a ", model, " run",
              model == "blip" ? " (train one with rotor clip train --loss blip)" : "");
  return checkpoint;
}

std::vector<text::RankedToken> load_run_tokenizer(const std::string& dir) {
  const std::string tokenizer = (fs::path(dir) / "tokenizer.tiktoken").string();
  ROTOR_CHECK(fs::exists(tokenizer), "clip: ", dir, " has no tokenizer.tiktoken");
  return text::load_tiktoken_ranks(tokenizer);
}

std::unique_ptr<ClipModel> load_clip_model(const std::string& dir) {
  return load_image_text_model<ClipModel, ClipConfig>(dir, "clip");
}

ClipTrainOptions load_clip_options(const std::string& dir) {
  const io::Checkpoint checkpoint = load_any_checkpoint(dir);
  ClipTrainOptions o;
  const nlohmann::json t = checkpoint.config.value("training", nlohmann::json::object());
  o.batch = t.value("batch", o.batch);
  o.steps = t.value("steps", o.steps);
  o.lr = t.value("lr", o.lr);
  o.weight_decay = t.value("weight_decay", o.weight_decay);
  o.seed = t.value("seed", o.seed);
  o.caption_seed = t.value("caption_seed", o.caption_seed);
  o.log_every = t.value("log_every", o.log_every);
  return o;
}

}  // namespace rotor::models
