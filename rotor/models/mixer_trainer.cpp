#include "rotor/models/mixer_trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include "rotor/autograd/autocast.h"
#include "rotor/autograd/ops.h"
#include "rotor/core/dist.h"
#include "rotor/core/error.h"
#include "rotor/io/checkpoint.h"
#include "rotor/models/loss_plot.h"
#include "rotor/models/masked_lm.h"
#include "rotor/optim/clip.h"
#include "rotor/optim/schedule.h"

namespace rotor::models {

namespace ag = rotor::autograd;

namespace {

// The names of `params` among the model's named parameters (the optimizer state is saved by name).
std::vector<std::string> names_of(const AutogradGpt& model, const std::vector<ag::Var>& params) {
  std::map<const ag::VarImpl*, std::string> by_impl;
  for (const auto& [name, v] : model.named_parameters()) by_impl[v.impl()] = name;
  std::vector<std::string> names;
  for (const ag::Var& p : params) names.push_back(by_impl.at(p.impl()));
  return names;
}

}  // namespace

MixerTrainer::MixerTrainer(AutogradGpt& model, const ByteCorpus& corpus, const TrainOptions& opt)
    : model_(model), corpus_(corpus), opt_(opt), rng_(opt.seed), redraw_rng_(opt.seed ^ 0x9e3779b97f4a7c15ULL) {
  ROTOR_CHECK(opt.batch >= 1 && opt.grad_accum >= 1 && opt.steps >= 1, "mixer trainer: batch, grad_accum and steps "
              "must be >= 1");
  corpus.check_context(model.config().ctx);
  data_ = corpus_fingerprint(corpus);
  {
    // the parts the fused model shares are initialised exactly as the fused trainer does
    TransformerConfig shared = model.config();
    if (shared.pos == PositionKind::t5 || shared.pos == PositionKind::alibi) shared.pos = PositionKind::none;
    Transformer fused(shared);
    Rng init(opt.seed ^ 0x5eed1417ULL);
    fused.init_parameters(init, opt.init);
    model_.init_from(fused);
  }
  for (const ag::Var& p : model_.parameters()) owner_[p.impl()] = 0;
  build_optimizers();
  const int64_t T = model.config().ctx;
  x_.resize(opt.batch * T);
  y_.resize(opt.batch * T);
  check_data_parallel(opt, model_.parameter_count(), corpus);
}

void MixerTrainer::build_optimizers() {
  auto mine = [&](const std::vector<ag::Var>& params) {
    std::vector<ag::Var> owned;
    for (const ag::Var& p : params)
      if (!shard_ || owner_.at(p.impl()) == dist::rank()) owned.push_back(p);
    return owned;
  };
  optim::AdamOptions adam{opt_.beta1, opt_.beta2, opt_.eps, opt_.weight_decay, true};
  decay_ = std::make_unique<optim::Adam>(mine(model_.decayed_parameters()), opt_.lr, adam);
  adam.weight_decay = 0.0;
  rest_ = std::make_unique<optim::Adam>(mine(model_.undecayed_parameters()), opt_.lr, adam);
  decay_names_ = names_of(model_, decay_->params());
  rest_names_ = names_of(model_, rest_->params());
}

void MixerTrainer::set_shard_optimizer(bool on) {
  ROTOR_CHECK(step_ == 0, "--shard-optimizer: set before the first step");
  shard_ = on;
  std::vector<ag::Var> params = model_.parameters();
  std::stable_sort(params.begin(), params.end(),
                   [](const ag::Var& a, const ag::Var& b) { return a.numel() > b.numel(); });
  std::vector<int64_t> load(size_t(dist::size()), 0);
  for (const ag::Var& p : params) {
    const int rank = on ? int(std::min_element(load.begin(), load.end()) - load.begin()) : 0;
    owner_[p.impl()] = rank;
    load[size_t(rank)] += p.numel();
  }
  build_optimizers();
}

int64_t MixerTrainer::optimizer_state_bytes() const {
  int64_t n = 0;
  for (const auto* opt : {decay_.get(), rest_.get()})
    for (const ag::Var& p : opt->params()) n += p.numel();
  return 2 * int64_t(sizeof(float)) * n;
}

std::map<std::string, Tensor> MixerTrainer::optimizer_state() const {
  std::map<std::string, Tensor> state = decay_->state(decay_names_);
  state.merge(rest_->state(rest_names_));
  return state;
}

// Each parameter's owner broadcasts its step count and, once stepped, its two moments; rank 0 keeps them.
void MixerTrainer::gather_for_save() {
  if (!shard_) return;
  const std::map<std::string, Tensor> mine = optimizer_state();
  saved_optimizer_.clear();
  for (const auto& [name, p] : model_.named_parameters()) {
    const int owner = owner_.at(p.impl());
    const bool owned = owner == dist::rank();
    int64_t step = owned && mine.count("step." + name) ? mine.at("step." + name).data<int64_t>()[0] : 0;
    dist::broadcast(&step, sizeof step, owner);
    if (step == 0) continue;
    for (const char* moment : {"exp_avg.", "exp_avg_sq."}) {
      Tensor t = owned ? mine.at(moment + name).contiguous() : Tensor::empty(p.shape(), DType::f32);
      dist::broadcast(t.data<float>(), sizeof(float) * size_t(t.numel()), owner);
      if (dist::is_root()) saved_optimizer_[moment + name] = t;
    }
    if (dist::is_root()) saved_optimizer_["step." + name] = Tensor::from_vector(std::vector<int64_t>{step}, {1});
  }
}

Tensor MixerTrainer::rows_tensor(const std::vector<int32_t>& v, int64_t first, int64_t count) const {
  const int64_t T = model_.config().ctx;
  return Tensor::from_vector(std::vector<int32_t>(v.begin() + first * T, v.begin() + (first + count) * T), {count, T});
}

// The mean loss of this rank's rows of the current windows (x_, y_), with its backward pass (gradients
// / (grad_accum N), so that the sum over micro-batches and ranks is the gradient of the global mean) when
// asked. A bidirectional encoder learns the masked-LM objective instead: x_ masked with mask_rng, loss at
// the chosen positions (y_ unused; one process).
double MixerTrainer::loss_of_windows(bool backward, Rng& mask_rng) {
  const int64_t N = dist::size(), local = opt_.batch / N, first = dist::rank() * local;
  ag::Var loss;
  {
    std::optional<ag::AutocastGuard> autocast;
    if (opt_.precision == Precision::bf16) autocast.emplace();
    if (model_.bidirectional()) {
      const MaskedBatch all = mask_tokens(rows_tensor(x_, 0, opt_.batch), model_.config().vocab - 1, kMaskRate,
                                          mask_rng);
      if (N == 1) {
        loss = masked_lm_loss(model_, all);
      } else {  // N times this rank's share of the global mean (the ranks' losses are averaged)
        const double scale = double(N) / double(chosen_count(all));
        loss = masked_lm_loss(model_, masked_rows(all, first, local), ag::Reduction::sum) * scale;
      }
    } else
      loss = model_.loss(rows_tensor(x_, first, local), rows_tensor(y_, first, local));
  }
  const double value = loss.item();
  if (backward) {
    ROTOR_CHECK(std::isfinite(value), "training: loss is ", value, " at step ", step_ + 1,
                " (the run diverged; try a lower --lr)");
    const int64_t parts = opt_.grad_accum * N;
    (parts > 1 ? loss * (1.0 / double(parts)) : loss).backward();
  }
  return value;
}

void MixerTrainer::allreduce_gradients() {
  const std::vector<ag::Var> params = model_.parameters();
  int64_t n = 0;
  for (const ag::Var& p : params) {
    ROTOR_CHECK(p.grad().defined(), "data parallel: a parameter of shape ", shape_str(p.shape()),
                " got no gradient in this step");
    n += p.numel();
  }
  std::vector<float> flat(static_cast<size_t>(n));
  int64_t at = 0;
  for (const ag::Var& p : params) {
    const Tensor g = p.grad().contiguous();
    std::memcpy(flat.data() + at, g.data<float>(), sizeof(float) * size_t(g.numel()));
    at += g.numel();
  }
  dist::allreduce_sum(flat.data(), flat.size());
  at = 0;
  for (const ag::Var& p : params) {
    Tensor g = Tensor::empty(p.shape(), DType::f32);
    std::memcpy(g.data<float>(), flat.data() + at, sizeof(float) * size_t(g.numel()));
    at += g.numel();
    ag::Var(p).set_grad(g);
  }
  allreduced_bytes_ = n * int64_t(sizeof(float));
}

double MixerTrainer::train_step() {
  const int64_t T = model_.config().ctx, B = opt_.batch, N = dist::size();
  const MixerSpec& mixer = model_.mixer();
  if (mixer.kind == MixerKind::performer && mixer.redraw > 0 && step_ > 0 && step_ % mixer.redraw == 0)
    model_.redraw(redraw_rng_);
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_seconds();
  for (ag::Var& p : model_.parameters()) p.zero_grad();
  double loss = 0;
  for (int64_t micro = 0; micro < opt_.grad_accum; ++micro) {
    sample_windows(corpus_.train, rng_, B, T, x_.data(), y_.data());
    loss += loss_of_windows(true, rng_);
  }
  loss /= double(opt_.grad_accum);
  if (N > 1) {
    allreduce_gradients();
    dist::allreduce_sum(&loss, 1);
    loss /= double(N);
  }
  // global gradient norm over every parameter (summed in double), then PyTorch's clip_grad_norm_
  const double norm = optim::clip_parameter_gradients(model_.parameters(), opt_.clip);
  ROTOR_CHECK(std::isfinite(norm), "training: gradient norm is ", norm, " at step ", step_ + 1);
  const optim::WarmupCosine schedule{opt_.lr, opt_.lr_min, opt_.warmup, opt_.steps};
  const double lr = schedule.at(step_);
  decay_->set_lr(lr);
  rest_->set_lr(lr);
  decay_->step();
  rest_->step();
  if (shard_ && N > 1)
    for (ag::Var& p : model_.parameters())
      dist::broadcast(p.mutable_value().data<float>(), sizeof(float) * size_t(p.numel()), owner_.at(p.impl()));
  last_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  last_cpu_seconds_ = process_cpu_seconds() - cpu0;
  ++step_;
  metrics_.push_back({step_, loss, std::nan(""), lr, norm});
  return loss;
}

double MixerTrainer::validation_loss() {
  const int64_t T = model_.config().ctx, B = opt_.batch;
  Rng val_rng(0x7a11da7eULL);  // LmTrainer's validation windows
  Rng val_mask_rng(0x3a5c3d0fULL);  // masked LM: the same masks every validation
  ag::NoGradGuard no_grad;
  double total = 0;
  for (int64_t i = 0; i < opt_.eval_batches; ++i) {
    sample_windows(corpus_.val, val_rng, B, T, x_.data(), y_.data());
    total += loss_of_windows(false, val_mask_rng);
  }
  dist::allreduce_sum(&total, 1);
  return total / double(opt_.eval_batches * dist::size());
}

void MixerTrainer::record_validation(double val_loss) {
  if (!metrics_.empty()) metrics_.back().val_loss = val_loss;
}

void MixerTrainer::save(const std::string& dir) const {
  io::Checkpoint run = autograd_gpt_checkpoint(model_);
  run.optimizer = shard_ ? saved_optimizer_ : optimizer_state();
  run.state.step = step_;
  run.state.rng = rng_.state();
  run.state.extra = run_extra(opt_, data_);
  run.state.extra["redraw_rng"] = io::rng_state_to_json(redraw_rng_.state());
  run.files["metrics.csv"] = metrics_csv(metrics_);
  run.files["loss.svg"] = loss_plot_svg(metrics_);
  io::save_checkpoint(dir, run);
}

void MixerTrainer::restore(const io::Checkpoint& run, const std::string& dir) {
  const std::string state_path = dir + "/training_state.json", optimizer_path = dir + "/optimizer.safetensors";
  std::vector<MetricRow> metrics = verify_run(run, dir, autograd_gpt_config(model_), opt_, data_, corpus_.source);
  ROTOR_CHECK(run.state.extra.contains("redraw_rng"), state_path, ": no state of the redraw generator (extra.redraw_rng)");
  const Rng::State redraw = io::rng_state_from_json(run.state.extra["redraw_rng"], state_path + ": extra.redraw_rng");
  load_autograd_gpt_tensors(model_, run.model, dir + "/model.safetensors");
  int64_t read = decay_->load_state(run.optimizer, decay_names_, optimizer_path) +
                 rest_->load_state(run.optimizer, rest_names_, optimizer_path);
  if (shard_) dist::allreduce_sum(&read, 1);  // each rank read its own parameters' state
  ROTOR_CHECK(read == int64_t(run.optimizer.size()), optimizer_path, " holds ", int64_t(run.optimizer.size()) - read,
              " tensors that are not the Adam state of this model's parameters");
  rng_.set_state(run.state.rng);
  redraw_rng_.set_state(redraw);
  step_ = run.state.step;
  metrics_ = std::move(metrics);
}

}  // namespace rotor::models
