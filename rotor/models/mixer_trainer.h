#pragma once
// MixerTrainer: trains an AutogradGpt (any token mixer) as a byte-level language model on a ByteCorpus,
// on the tape: AdamW (decay on matrices and embeddings), the same warmup + cosine schedule, global-norm
// clipping, gradient accumulation, bf16 matmuls through autograd::AutocastGuard, and the same training and
// validation windows as LmTrainer. Performer's random features are redrawn every MixerSpec::redraw steps
// from a generator seeded by the run's seed. save() writes config.json (with the mixer), model.safetensors
// (parameters and buffers), optimizer.safetensors (both AdamW groups' moments and step counts by parameter
// name: "exp_avg.NAME", "exp_avg_sq.NAME", "step.NAME"), training_state.json (step, the batch generator,
// and in extra the options, the data's fingerprint and the redraw generator) and metrics.csv and loss.svg
// as one checkpoint (rotor/io/checkpoint.h); restore() continues it exactly, checked as LmTrainer's runs are
// (verify_run).
// Data parallel (mpirun -np N): every rank draws the same global batches and runs rows
// [rank B/N, (rank + 1) B/N) of each; after the backward pass the parameters' gradients are summed by one
// allreduce of a flat buffer (the tape has no gradient hooks, so it does not overlap the backward), then
// every rank clips and steps the same way. The masked-LM objective draws every rank's masks for the whole
// global batch (so the generators stay in step), and each rank's loss is its rows' share of the global mean
// over the chosen positions. ZeRO-1 (set_shard_optimizer): whole parameters are dealt to the ranks, largest
// first, each to the rank holding the fewest elements so far (the partition of torch's
// ZeroRedundancyOptimizer); a parameter's owner keeps its AdamW moments, steps it, and broadcasts the new
// values, which are the unsharded run's bit for bit (the same elementwise AdamW on the same gradients).
// A bidirectional model (set_bidirectional, `rotor train --objective mlm`) is trained with BERT's masked-LM
// objective (rotor/models/masked_lm.h) on the same windows, the [MASK] id being vocab - 1; the validation
// masks are drawn from a fixed seed, so validation losses compare across steps.
#include <map>
#include <memory>
#include <string>
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
  // ZeRO-1 (`--shard-optimizer`): call before restore() and the first step.
  void set_shard_optimizer(bool on);
  bool shard_optimizer() const { return shard_; }
  int64_t optimizer_state_bytes() const;  // this rank's AdamW moments (two f32 per element it owns)
  void gather_for_save();  // collective: a sharded optimizer's state to rank 0, for save()
  void save(const std::string& dir) const;
  // Restores parameters, buffers, moments, step, generators and metrics from a run written by save(); the
  // run's model and options (but --steps) must be this trainer's, and its data this corpus.
  void restore(const io::Checkpoint& run, const std::string& dir);
  void set_total_steps(int64_t steps) { opt_.steps = steps; }
  // Data parallel: bytes of gradients this rank allreduced in the last step (0 alone).
  int64_t allreduced_bytes() const { return allreduced_bytes_; }

 private:
  // rows [first, first + count) of the global batch in v: [count, T] i32
  Tensor rows_tensor(const std::vector<int32_t>& v, int64_t first, int64_t count) const;
  double loss_of_windows(bool backward, Rng& mask_rng);
  void allreduce_gradients();  // sums every parameter's gradient over the ranks
  void build_optimizers();     // decay_ and rest_ over the parameters this rank owns
  std::map<std::string, Tensor> optimizer_state() const;  // this rank's, by parameter name

  AutogradGpt& model_;
  const ByteCorpus& corpus_;
  TrainOptions opt_;
  Rng rng_, redraw_rng_;
  std::unique_ptr<optim::Adam> decay_, rest_;
  std::vector<std::string> decay_names_, rest_names_;  // the parameters of decay_ and rest_, by name
  bool shard_ = false;
  std::map<const autograd::VarImpl*, int> owner_;      // each parameter's rank when sharded
  std::map<std::string, Tensor> saved_optimizer_;      // a sharded run's whole state on rank 0 (gather_for_save)
  io::Fingerprint data_;
  int64_t step_ = 0, allreduced_bytes_ = 0;
  double last_seconds_ = 0, last_cpu_seconds_ = 0;
  std::vector<int32_t> x_, y_;
  std::vector<MetricRow> metrics_;
};

}  // namespace rotor::models
