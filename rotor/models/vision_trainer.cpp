#include "rotor/models/vision_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "rotor/autograd/profile.h"
#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/io/checkpoint.h"
#include "rotor/io/metrics_csv.h"
#include "rotor/models/loss_plot.h"
#include "rotor/optim/optimizer.h"
#include "rotor/optim/schedule.h"

namespace rotor::models {

namespace fs = std::filesystem;

namespace {

// Makes every parameter of `all` that is not in `kept` a constant (requires_grad false) for its lifetime.
class FrozenParameters {
 public:
  FrozenParameters(const std::vector<Var>& all, const std::vector<Var>& kept) {
    std::set<const autograd::VarImpl*> keep;
    for (const Var& p : kept) keep.insert(p.impl());
    for (const Var& p : all)
      if (p.requires_grad() && !keep.count(p.impl())) frozen_.push_back(p);
    for (Var& p : frozen_) p.set_requires_grad(false);
  }
  ~FrozenParameters() {
    for (Var& p : frozen_) p.set_requires_grad(true);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<Var> frozen_;
};

}  // namespace

nlohmann::json VisionTrainOptions::to_json() const {
  return {{"epochs", epochs}, {"batch", batch}, {"max_steps", max_steps}, {"lr", lr}, {"weight_decay", weight_decay},
          {"seed", seed},     {"log_every", log_every}, {"cosine", cosine}};
}

Rng vision_training_rng(uint64_t seed) { return Rng(seed).split(kVisionTrainingStream); }

VisionRun train_vision_model(VisionModel& model, const VisionData& train, const VisionData& test,
                             const VisionTrainOptions& options, const VisionStepCallback& on_step) {
  ROTOR_CHECK(train.size() >= 1 && test.size() >= 1, "vision: empty training or test set");
  ROTOR_CHECK(options.batch >= 1 && options.epochs >= 1 && options.lr > 0, "vision: bad training options");
  Rng rng = vision_training_rng(options.seed);
  optim::AdamOptions adam;
  adam.weight_decay = options.weight_decay;
  optim::Adam optimizer(model.parameters(), options.lr, adam);
  const std::vector<TrainingPhase> phases = model.training_phases();
  const int64_t batch = std::min(options.batch, train.size());
  const int64_t per_epoch = train.size() / batch;
  int64_t total = per_epoch * options.epochs;
  if (options.max_steps > 0) total = std::min(total, options.max_steps);
  std::vector<std::unique_ptr<optim::Adam>> phase_optimizers;
  std::vector<optim::WarmupCosine> phase_schedules;  // each over its phase's step range
  for (const TrainingPhase& p : phases) {
    ROTOR_CHECK(p.every >= 1 && p.lr > 0, "vision: ", model.name(), " phase ", p.name, " has every ", p.every,
                " and lr ", p.lr);
    const int64_t end = p.end_step < 0 ? total : std::min(p.end_step, total);
    ROTOR_CHECK(p.first_step >= 0 && p.first_step < end, "vision: ", model.name(), " phase ", p.name,
                " never runs: it starts at step ", p.first_step, " and the run has ", total,
                " steps (more --max-steps / --epochs, or a smaller start in --model-config)");
    phase_optimizers.push_back(std::make_unique<optim::Adam>(p.parameters, p.lr, p.adam));
    phase_schedules.push_back({p.lr, options.cosine ? 0.0 : p.lr, 0, end - p.first_step});
  }

  optim::WarmupCosine schedule{options.lr, options.cosine ? 0.0 : options.lr, 0, total};

  VisionRun run;
  const auto start = std::chrono::steady_clock::now();
  model.train();
  int64_t step = 0;
  double interval_loss = 0;
  int64_t interval_steps = 0;
  std::map<std::string, std::pair<double, int64_t>> interval_figures;  // sum and count since the last row
  for (int64_t epoch = 0; epoch < options.epochs && step < total; ++epoch) {
    const std::vector<int64_t> order = shuffled_order(train.size(), rng);
    for (int64_t b = 0; b < per_epoch && step < total; ++b) {
      const VisionData data = gather_batch(train, order, b * batch, batch);
      model.set_progress(step, total);
      StepFigures figures;
      double value = 0;
      if (phases.empty()) {
        optimizer.zero_grad();
        optimizer.set_lr(schedule.at(step));
        const Var loss = model.loss(data, rng);
        value = loss.item();
        ROTOR_CHECK(std::isfinite(value), "vision: ", model.name(), " loss is ", value, " at step ", step + 1);
        loss.backward();
        optimizer.step();
      } else {
        bool first = true;
        for (size_t i = 0; i < phases.size(); ++i) {
          const TrainingPhase& p = phases[i];
          if ((step + 1) % p.every != 0 || step < p.first_step || (p.end_step >= 0 && step >= p.end_step)) continue;
          model.zero_grad();
          phase_optimizers[i]->set_lr(phase_schedules[i].at(step - p.first_step));
          // the other phases' parameters are constants while this phase's loss is built and differentiated
          // (the generator's loss runs through the critic, whose weight gradients this phase would discard)
          const FrozenParameters frozen(model.parameters(), p.parameters);
          const Var loss = model.phase_loss(i, data, rng, figures);
          const double v = loss.item();
          ROTOR_CHECK(std::isfinite(v), "vision: ", model.name(), " ", phases[i].name, " loss is ", v, " at step ",
                      step + 1);
          loss.backward();
          phase_optimizers[i]->step();
          figures[phases[i].name + "_loss"] = v;
          if (first) value = v, first = false;  // train_loss: the loss of the step's first phase
        }
        model.zero_grad();
      }
      ++step;
      interval_loss += value;
      ++interval_steps;
      for (const auto& [key, v] : figures) {
        interval_figures[key].first += v;
        ++interval_figures[key].second;
      }
      if (step % options.log_every == 0 || step == total) {
        run.steps.push_back(step);
        run.epochs.push_back(static_cast<double>(step) / static_cast<double>(per_epoch));
        run.losses.push_back(interval_loss / static_cast<double>(interval_steps));
        interval_loss = 0;
        interval_steps = 0;
        for (auto& [key, sum_count] : interval_figures) {
          std::vector<double>& column = run.figures[key];
          column.resize(run.steps.size() - 1, NAN);  // a figure first reported now: earlier rows have none
          column.push_back(sum_count.second > 0 ? sum_count.first / static_cast<double>(sum_count.second) : NAN);
          sum_count = {0.0, 0};
        }
      }
      if (on_step) on_step(step, total, value);
    }
  }
  run.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  autograd::profile_report(("vision " + model.name()).c_str(), static_cast<int>(step));  // ROTOR_PROFILE=1
  model.eval();
  run.metrics = model.evaluate(test, rng);
  run.metrics["train_seconds"] = run.train_seconds;
  run.metrics["steps"] = step;
  return run;
}

void check_run_directory(const std::string& dir) {
  ROTOR_CHECK(!dir.empty(), "vision: --out is empty");
  const fs::path path(dir);
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  ROTOR_CHECK(fs::is_directory(parent), "vision: the parent of '", dir, "' is not a directory");
  if (!fs::exists(path)) return;
  ROTOR_CHECK(fs::is_directory(path), "vision: '", dir, "' exists and is not a directory");
  ROTOR_CHECK(fs::is_empty(path) || fs::exists(path / "config.json"), "vision: '", dir,
              "' is a non-empty directory that is not a rotor vision run; not overwriting it");
}

void save_vision_run(const std::string& dir, const VisionModel& model, const VisionTrainOptions& options,
                     const VisionRun& run) {
  check_run_directory(dir);
  io::Checkpoint checkpoint;
  checkpoint.config = model.config();
  checkpoint.config["training"] = options.to_json();
  checkpoint.model = model.state_dict();
  for (const auto& [name, tensor] : model.buffers()) checkpoint.model[name] = tensor;
  checkpoint.state.step = run.steps.empty() ? 0 : run.steps.back();
  // Stale files of a previous run would be carried over; the ones rewritten below replace them.
  io::save_checkpoint(dir, checkpoint);

  const std::string csv_path = (fs::path(dir) / "metrics.csv").string();
  {
    std::string csv = "step,epoch,train_loss";
    for (const auto& [key, column] : run.figures) csv += "," + key;
    csv += "\n";
    for (size_t i = 0; i < run.steps.size(); ++i) {
      csv += cat(run.steps[i], ",", io::format_number(run.epochs[i]), ",", io::format_number(run.losses[i]));
      for (const auto& [key, column] : run.figures)
        csv += "," + (i < column.size() ? io::format_number(column[i]) : std::string());
      csv += "\n";
    }
    io::write_file_atomic(csv_path, csv);
  }
  auto plot = [&](const std::vector<double>& values, const char* file, const std::string& title) {
    std::vector<MetricRow> rows;
    for (size_t i = 0; i < run.steps.size() && i < values.size(); ++i)
      rows.push_back({run.steps[i], values[i], NAN, options.lr, NAN});
    write_loss_plot((fs::path(dir) / file).string(), rows, title);
  };
  const std::vector<TrainingPhase> phases = model.training_phases();
  std::string title = phases.empty() ? "training loss" : "critic / discriminator loss";
  if (std::any_of(phases.begin(), phases.end(), [](const auto& p) { return p.first_step > 0 || p.end_step >= 0; })) {
    title = "loss of each step's first phase:";
    for (const TrainingPhase& p : phases)
      if (p.first_step == 0 || p.first_step >= phases.front().end_step) title += " " + p.name;
  }
  plot(run.losses, "loss.svg", title);
  if (run.figures.count("wasserstein"))
    plot(run.figures.at("wasserstein"), "wasserstein.svg", "critic Wasserstein estimate E[D(real)] - E[D(fake)]");
  io::write_file_atomic((fs::path(dir) / "metrics.json").string(), run.metrics.dump(2) + "\n");
}

std::shared_ptr<VisionModel> load_vision_model(const std::string& dir) {
  ROTOR_CHECK(fs::is_directory(dir), "vision: '", dir, "' is not a directory (want a run written by rotor vision train)");
  ROTOR_CHECK(io::checkpoint_exists(dir), "vision: '", dir, "' holds no rotor vision run (no complete checkpoint)");
  io::Checkpoint checkpoint = io::load_checkpoint(dir);
  nlohmann::json config = checkpoint.config;
  ROTOR_CHECK(config.is_object() && config.contains("model") && config["model"].is_string(), "vision: ", dir,
              "/config.json has no \"model\" name");
  config.erase("training");
  Rng rng(0);
  auto model = make_vision_model(config["model"].get<std::string>(), config, rng);
  restore_checkpoint_tensors(*model, checkpoint.model);
  return model;
}

}  // namespace rotor::models
