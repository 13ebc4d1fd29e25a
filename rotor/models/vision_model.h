#pragma once
// The models of `rotor vision`: one interface over the Fashion-MNIST classifier and the generative models,
// so one trainer, one checkpoint format and one command drive them all.
//
//   auto model = make_vision_model("vae", {}, rng);        // config keys not given take their defaults
//   Var loss = model->loss(batch, rng);                     // scalar to minimise, e.g. -ELBO per image
//   nlohmann::json m = model->evaluate(test, rng);          // {"test_nll_nats": 96.3, ...}
//   Tensor images = model->sample(64, rng);                 // [64, 28, 28] in [0, 1] (generative models)
//   Tensor pairs = model->reconstruct(test.images);         // [N, 28, 28] (autoencoders: vqvae)
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rotor/core/rng.h"
#include "rotor/io/safetensors.h"
#include "rotor/models/fashion_data.h"
#include "rotor/nn/module.h"
#include "rotor/optim/adam.h"

namespace rotor::models {

using autograd::Var;

// Adversarial models (GANs, vqgan) train their parameters in phases, each with its own Adam: the critic
// (discriminator) on every batch, the generator after every `every`-th batch (n_critic in WGAN-GP).
struct TrainingPhase {
  std::string name;  // "critic", "generator": the metrics.csv column <name>_loss
  std::vector<Var> parameters;
  double lr = 1e-4;
  optim::AdamOptions adam;  // betas as the model's config says; no weight decay unless set
  int64_t every = 1;        // runs on the batches whose 1-based number is a multiple of `every`
  // Runs on the 0-based steps [first_step, end_step) only (end_step -1: to the end of the run), with the
  // learning-rate schedule spanning that range (vqgan's stages: autoencoder and discriminator, then prior).
  int64_t first_step = 0, end_step = -1;
};
// Figures of one training step besides the losses (e.g. "wasserstein"), logged to metrics.csv.
using StepFigures = std::map<std::string, double>;

class VisionModel : public nn::Module {
 public:
  virtual std::string name() const = 0;
  // The full configuration ({"model": name, ...}); make_vision_model(name, config()) rebuilds the model.
  virtual nlohmann::json config() const = 0;
  // The training objective of one batch (a scalar Var).
  virtual Var loss(const VisionData& batch, Rng& rng) = 0;
  // Non-empty for adversarial models: the trainer then runs these phases in order on each batch, phase
  // i minimising phase_loss(i, ...) over its own parameters, instead of one AdamW over loss().
  virtual std::vector<TrainingPhase> training_phases() const { return {}; }
  virtual Var phase_loss(size_t phase, const VisionData& batch, Rng& rng, StepFigures& figures);
  // Called by the trainer before the loss of step `step` (0-based) of `total` (schedules such as
  // gumbel-vae's temperature follow it).
  virtual void set_progress(int64_t /*step*/, int64_t /*total*/) {}
  // Test-set figures under the keys of issue 14 (test_accuracy, test_nll_nats, test_elbo_nats, ...).
  virtual nlohmann::json evaluate(const VisionData& test, Rng& rng) = 0;
  virtual bool generative() const { return true; }
  // True for the density models of binarized images (pixel = 1 when x > 0.5): their test figures and
  // sample quality are measured against the binarized test set.
  virtual bool binarized_data() const { return false; }
  // `count` images [count, H, W] in [0, 1]; classifiers throw.
  virtual Tensor sample(int64_t count, Rng& rng);
  // Autoencoders (vqvae, vqgan): images [N, 1, H, W] -> their reconstructions [N, H, W]; other models throw.
  virtual Tensor reconstruct(const Tensor& images);
  // State that is not a parameter (BatchNorm running statistics): saved beside the parameters.
  virtual io::TensorMap buffers() const { return {}; }
  virtual void load_buffers(const io::TensorMap&) {}
};

// "cnn", "vae", "gumbel-vae", "nade", "made", "vqvae", "vqgan", "dcgan", "wgan-gp".
const std::vector<std::string>& vision_model_names();
// Unknown names and config keys, or values out of range, are rotor::Errors.
std::shared_ptr<VisionModel> make_vision_model(const std::string& name, const nlohmann::json& config, Rng& rng);

// Reads an integer / number config key with a default, checking the range (errors name the model and key).
int64_t config_int(const nlohmann::json& config, const std::string& model, const char* key, int64_t fallback,
                   int64_t lo, int64_t hi);
double config_number(const nlohmann::json& config, const std::string& model, const char* key, double fallback,
                     double lo, double hi);
// The buffers of a part of a model under "<prefix>.<name>", and back: without_prefix keeps the names that
// start with "<prefix>." (stripped); any other name is an error naming `model`.
io::TensorMap with_prefix(const std::string& prefix, const io::TensorMap& m);
io::TensorMap without_prefix(const std::string& model, const std::string& prefix, const io::TensorMap& m);
// load_buffers() of models whose buffers() hand out handles sharing the modules' storage: copies each
// target's tensor from `from` in place (a missing name or another shape is an error naming `model`).
void copy_buffers(const std::string& model, const io::TensorMap& from, const io::TensorMap& targets);

// Test NLL in nats per image of an ensemble of `members` autoregressive densities over the binarized test
// set (made's mask sets, nade's orderings): -mean log((1/members) sum_s p_s(x)), with log p_s(x) [N] given by
// log_likelihood(x [N, 784], s).
double ensemble_test_nll(const VisionData& test, int64_t members,
                         const std::function<Var(const Var&, int64_t)>& log_likelihood);

// Loads a checkpoint's tensors into a model (a VisionModel, or any model with state_dict(),
// load_state_dict() and load_buffers()): those named in its state_dict() are parameters, the rest buffers
// (BatchNorm statistics, codebooks); then switches it to eval mode.
template <class Model>
void restore_checkpoint_tensors(Model& model, const io::TensorMap& saved) {
  io::TensorMap params, buffers;
  const nn::StateDict own = model.state_dict();
  for (const auto& [name, tensor] : saved) (own.count(name) ? params : buffers)[name] = tensor;
  model.load_state_dict(params);
  model.load_buffers(buffers);
  model.eval();
}

// Every key of config must be one of `known` (plus "model").
void check_config_keys(const nlohmann::json& config, const std::string& model, const std::vector<std::string>& known);

}  // namespace rotor::models
