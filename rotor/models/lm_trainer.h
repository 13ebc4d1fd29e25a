#pragma once
// LmTrainer: trains a Transformer as a language model on a ByteCorpus with AdamW, a warmup + cosine
// learning-rate schedule and global-norm clipping, and saves/restores everything needed to continue a
// run exactly (parameters, Adam moments, step, the batch generator's state, the metrics so far).
//
// A run directory is one checkpoint of rotor/io/checkpoint.h, saved as a unit (all files staged in a
// sibling directory that then replaces the run directory in one rename), and holds:
//   config.json            the model architecture (TransformerConfig)
//   model.safetensors      the parameters, by name (f32)
//   optimizer.safetensors  the Adam moments "adam.m", "adam.v" ([num_parameters] each)
//   training_state.json    step, generator state, extra: {"options": training options, "data": the size
//                          and CRC-32 of the training text}, and the size and CRC-32 of every other file
//   metrics.csv            step,train_loss,val_loss,lr,grad_norm (one row per step so far)
//   loss.svg               the loss curve
// restore() refuses a directory whose files do not belong together (a file changed or replaced after the
// save, a metrics.csv that does not end at the saved step) or whose training text is not this corpus.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rotor/core/rng.h"
#include "rotor/io/checkpoint.h"
#include "rotor/models/byte_corpus.h"
#include "rotor/models/transformer.h"

namespace rotor::models {

struct TrainOptions {
  int64_t batch = 8;          // sequences per forward/backward pass (micro-batch)
  int64_t grad_accum = 1;     // micro-batches whose gradients are averaged per optimizer step
  int64_t steps = 1000;       // total steps of the run
  int64_t warmup = 0;         // linear warmup steps
  int64_t eval_every = 100;   // validation (and checkpoint) interval
  int64_t eval_batches = 8;
  double lr = 1e-3;
  double lr_min = 1e-4;       // cosine floor (set equal to lr for a constant rate)
  double weight_decay = 0.1;  // decoupled, on matrices and embeddings only
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double clip = 1.0;          // global gradient-norm bound; 0 disables clipping
  uint64_t seed = 1;
  Precision precision = Precision::f32;
  Transformer::Init init = Transformer::Init::gpt2;
};
nlohmann::json train_options_to_json(const TrainOptions& o);
TrainOptions train_options_from_json(const nlohmann::json& j, const std::string& where);

struct MetricRow {
  int64_t step = 0;          // steps completed
  double train_loss = 0, val_loss = 0, lr = 0, grad_norm = 0;  // val_loss NaN when not evaluated
};

class LmTrainer {
 public:
  // Parameters are initialised from opt.seed; the batch generator is seeded from it as well.
  LmTrainer(Transformer& model, const ByteCorpus& corpus, const TrainOptions& opt);

  // One optimizer step on grad_accum fresh random micro-batches (the gradient of their mean loss; the
  // same windows, in the same order, as one batch of grad_accum * batch sequences). Returns the mean
  // training loss; throws rotor::Error when a loss is not finite.
  double train_step();
  // Mean loss over opt.eval_batches fixed validation windows (the same windows every call).
  double validation_loss();
  void record_validation(double val_loss);  // attaches val_loss to the last metrics row

  int64_t step() const { return step_; }
  double last_compute_seconds() const { return last_seconds_; }  // forward+backward+update of the last step
  double last_cpu_seconds() const { return last_cpu_seconds_; }   // the same in process CPU time (all threads)
  const TrainOptions& options() const { return opt_; }
  void set_total_steps(int64_t steps) { opt_.steps = steps; }
  const std::vector<MetricRow>& metrics() const { return metrics_; }
  // Data parallel (mpirun): bytes of gradients this rank allreduced in the last step (0 alone).
  int64_t allreduced_bytes() const { return allreduced_bytes_; }

  // ZeRO-1 (`--shard-optimizer`; call before restore() and the first step): this rank keeps the AdamW
  // moments of its share(num_parameters) slice of the flat parameter vector only and updates that slice;
  // an allgather then gives every rank all the parameters. The same updates as unsharded, element by element.
  void set_shard_optimizer(bool on);
  bool shard_optimizer() const { return shard_; }
  int64_t optimizer_state_bytes() const { return int64_t(sizeof(float) * (m_.size() + v_.size())); }  // this rank's
  // Collective (every rank, before rank 0's save()): a sharded optimizer gathers the moments to rank 0.
  void gather_for_save();

  void save(const std::string& dir) const;
  // Restores parameters, moments, step, generator and metrics from a run written by save(). The run's
  // model config and training options (but --steps) must be this trainer's, and its data this corpus.
  void restore(const io::Checkpoint& run, const std::string& dir);
  void restore(const std::string& dir);  // restore(load_run(dir), dir)

 private:
  Transformer& model_;
  const ByteCorpus& corpus_;
  TrainOptions opt_;
  Rng rng_;
  int64_t step_ = 0;
  double last_seconds_ = 0, last_cpu_seconds_ = 0;
  int64_t allreduced_bytes_ = 0;
  std::vector<float> m_, v_;        // [n], or this rank's slice [shard_begin_, shard_end_) when sharded
  bool shard_ = false;
  int64_t shard_begin_ = 0, shard_end_ = 0;
  std::vector<float> saved_m_, saved_v_;  // sharded: the full moments gathered for rank 0's save
  std::vector<int32_t> x_, y_;
  std::vector<MetricRow> metrics_;
  io::Fingerprint data_;  // of the training text (train then validation bytes: the file)
};

// Data parallel (mpirun -np N): throws on every rank unless --batch splits into N equal shares and the
// ranks agree on the model size, the options and the data size.
void check_data_parallel(const TrainOptions& opt, int64_t num_parameters, const ByteCorpus& corpus);

// A run directory saved by LmTrainer::save, verified (rotor/io/checkpoint.h); a clear error for a
// directory without a complete save.
io::Checkpoint load_run(const std::string& dir);
TrainOptions run_options(const io::Checkpoint& run, const std::string& dir);  // extra.options

// What every trainer's run records beside its tensors, and the checks every trainer's restore makes.
io::Fingerprint corpus_fingerprint(const ByteCorpus& corpus);  // train then validation bytes (the file)
nlohmann::json run_extra(const TrainOptions& opt, const io::Fingerprint& data);  // training_state's extra
// Throws unless the run's config.json is `config`, its options (but --steps) are `opt` and its training
// text is `data` (read from `source`); returns metrics.csv's rows, one per step up to the saved step.
std::vector<MetricRow> verify_run(const io::Checkpoint& run, const std::string& dir, const nlohmann::json& config,
                                  const TrainOptions& opt, const io::Fingerprint& data, const std::string& source);

// metrics.csv's text: the header line, then one row per step.
std::string metrics_csv(const std::vector<MetricRow>& rows);
double process_cpu_seconds();  // CPU time of the process (all threads)

// Saves config.json and model.safetensors of a model (what `rotor sample` and `rotor logits` read).
void save_model(const Transformer& model, const std::string& dir);
// Reads config.json and model.safetensors; every parameter must be present with its shape, no extras.
std::unique_ptr<Transformer> load_model(const std::string& dir);
void load_parameters(Transformer& model, const std::string& safetensors_path);

}  // namespace rotor::models
