#pragma once
// MixerTrainer: trains an AutogradGpt (any token mixer) as a byte-level language model on a ByteCorpus,
// on the tape: AdamW (decay on matrices and embeddings), the same warmup + cosine schedule, global-norm
// clipping, gradient accumulation, bf16 matmuls through autograd::AutocastGuard, and the same training and
// validation windows as LmTrainer. Performer's random features are redrawn every MixerSpec::redraw steps
// from a generator seeded by the run's seed. save() writes config.json (with the mixer), model.safetensors,
// metrics.csv and loss.svg as one checkpoint (rotor/io/checkpoint.h); the optimizer state is not saved, so
// such a run cannot be resumed.
// A bidirectional model (set_bidirectional, `rotor train --objective mlm`) is trained with BERT's masked-LM
// objective (rotor/models/masked_lm.h) on the same windows, the [MASK] id being vocab - 1; the validation
// masks are drawn from a fixed seed, so validation losses compare across steps.
#include <memory>
#include <vector>

#include "rotor/models/autograd_gpt.h"
#include "rotor/models/lm_trainer.h"
#include "rotor/optim/optimizer.h"

namespace rotor::models {

class MixerTrainer {
 public:
  // Initialises the model: embeddings, norms, MLPs and head as the fused trainer does (opt.init, opt.seed),
  // the mixers by their own (PyTorch-style) initialisation when the model was built.
  MixerTrainer(AutogradGpt& model, const ByteCorpus& corpus, const TrainOptions& opt);

  double train_step();        // one optimizer step; returns the mean training loss (throws when not finite)
  double validation_loss();   // over opt.eval_batches fixed validation windows
  void record_validation(double val_loss);

  int64_t step() const { return step_; }
  double last_compute_seconds() const { return last_seconds_; }
  double last_cpu_seconds() const { return last_cpu_seconds_; }
  const std::vector<MetricRow>& metrics() const { return metrics_; }
  void save(const std::string& dir) const;

 private:
  Tensor window_tensor(const std::vector<int32_t>& v) const;  // [B, T] i32
  double loss_of_windows(bool backward, Rng& mask_rng);

  AutogradGpt& model_;
  const ByteCorpus& corpus_;
  TrainOptions opt_;
  Rng rng_, redraw_rng_;
  std::unique_ptr<optim::Adam> decay_, rest_;
  int64_t step_ = 0;
  double last_seconds_ = 0, last_cpu_seconds_ = 0;
  std::vector<int32_t> x_, y_;
  std::vector<MetricRow> metrics_;
};

}  // namespace rotor::models
