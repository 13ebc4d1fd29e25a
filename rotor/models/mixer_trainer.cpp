#include "rotor/models/mixer_trainer.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "rotor/autograd/autocast.h"
#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/io/checkpoint.h"
#include "rotor/models/loss_plot.h"
#include "rotor/models/masked_lm.h"
#include "rotor/optim/clip.h"
#include "rotor/optim/schedule.h"

namespace rotor::models {

namespace ag = rotor::autograd;

MixerTrainer::MixerTrainer(AutogradGpt& model, const ByteCorpus& corpus, const TrainOptions& opt)
    : model_(model), corpus_(corpus), opt_(opt), rng_(opt.seed), redraw_rng_(opt.seed ^ 0x9e3779b97f4a7c15ULL) {
  ROTOR_CHECK(opt.batch >= 1 && opt.grad_accum >= 1 && opt.steps >= 1, "mixer trainer: batch, grad_accum and steps "
              "must be >= 1");
  corpus.check_context(model.config().ctx);
  {
    // the parts the fused model shares are initialised exactly as the fused trainer does
    TransformerConfig shared = model.config();
    if (shared.pos == PositionKind::t5 || shared.pos == PositionKind::alibi) shared.pos = PositionKind::none;
    Transformer fused(shared);
    Rng init(opt.seed ^ 0x5eed1417ULL);
    fused.init_parameters(init, opt.init);
    model_.init_from(fused);
  }
  optim::AdamOptions adam{opt.beta1, opt.beta2, opt.eps, opt.weight_decay, true};
  decay_ = std::make_unique<optim::Adam>(model_.decayed_parameters(), opt.lr, adam);
  adam.weight_decay = 0.0;
  rest_ = std::make_unique<optim::Adam>(model_.undecayed_parameters(), opt.lr, adam);
  const int64_t T = model.config().ctx;
  x_.resize(opt.batch * T);
  y_.resize(opt.batch * T);
}

Tensor MixerTrainer::window_tensor(const std::vector<int32_t>& v) const {
  return Tensor::from_vector(v, {opt_.batch, model_.config().ctx});
}

// The mean loss of the current windows (x_, y_), with its backward pass (gradients / grad_accum) when asked.
// A bidirectional encoder learns the masked-LM objective instead: x_ masked with mask_rng, loss at the
// chosen positions (y_ unused).
double MixerTrainer::loss_of_windows(bool backward, Rng& mask_rng) {
  ag::Var loss;
  {
    std::optional<ag::AutocastGuard> autocast;
    if (opt_.precision == Precision::bf16) autocast.emplace();
    if (model_.bidirectional())
      loss = masked_lm_loss(model_, mask_tokens(window_tensor(x_), model_.config().vocab - 1, kMaskRate, mask_rng));
    else
      loss = model_.loss(window_tensor(x_), window_tensor(y_));
  }
  const double value = loss.item();
  if (backward) {
    ROTOR_CHECK(std::isfinite(value), "training: loss is ", value, " at step ", step_ + 1,
                " (the run diverged; try a lower --lr)");
    (opt_.grad_accum > 1 ? loss * (1.0 / double(opt_.grad_accum)) : loss).backward();
  }
  return value;
}

double MixerTrainer::train_step() {
  const int64_t T = model_.config().ctx, B = opt_.batch;
  const MixerSpec& mixer = model_.mixer();
  if (mixer.kind == MixerKind::performer && mixer.redraw > 0 && step_ > 0 && step_ % mixer.redraw == 0)
    model_.redraw(redraw_rng_);
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_seconds();
  decay_->zero_grad();
  rest_->zero_grad();
  double loss = 0;
  for (int64_t micro = 0; micro < opt_.grad_accum; ++micro) {
    sample_windows(corpus_.train, rng_, B, T, x_.data(), y_.data());
    loss += loss_of_windows(true, rng_);
  }
  loss /= double(opt_.grad_accum);
  // global gradient norm over every parameter (summed in double), then PyTorch's clip_grad_norm_
  const double norm = optim::clip_parameter_gradients(model_.parameters(), opt_.clip);
  ROTOR_CHECK(std::isfinite(norm), "training: gradient norm is ", norm, " at step ", step_ + 1);
  const optim::WarmupCosine schedule{opt_.lr, opt_.lr_min, opt_.warmup, opt_.steps};
  const double lr = schedule.at(step_);
  decay_->set_lr(lr);
  rest_->set_lr(lr);
  decay_->step();
  rest_->step();
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
  return total / double(opt_.eval_batches);
}

void MixerTrainer::record_validation(double val_loss) {
  if (!metrics_.empty()) metrics_.back().val_loss = val_loss;
}

void MixerTrainer::save(const std::string& dir) const {
  io::Checkpoint run = autograd_gpt_checkpoint(model_);
  run.state.step = step_;
  run.files["metrics.csv"] = metrics_csv(metrics_);
  run.files["loss.svg"] = loss_plot_svg(metrics_);
  io::save_checkpoint(dir, run);
}

}  // namespace rotor::models
