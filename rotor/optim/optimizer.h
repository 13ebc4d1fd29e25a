#pragma once
// Optimizers over autograd Vars (a Module's parameters), with torch.optim's interface and update rules:
//
//   optim::Adam opt(model.parameters(), 1e-3, {.weight_decay = 0.01});  // AdamW by default
//   for (...) {
//     opt.zero_grad();
//     cross_entropy(model.forward(x), y).backward();
//     opt.step();
//   }
//
// Parameters must be contiguous f32 Vars that require gradients. As in PyTorch, a parameter whose
// gradient is undefined at step() is skipped (its state, and Adam's step count for it, stay put).
// The updates are the flat-buffer kernels of adam.h / sgd.h, in place on the parameter values.
#include <map>
#include <string>
#include <vector>

#include "rotor/autograd/var.h"
#include "rotor/optim/adam.h"
#include "rotor/optim/sgd.h"

namespace rotor::optim {

using autograd::Var;

class Optimizer {
 public:
  Optimizer(std::vector<Var> params, double lr, const char* name);
  virtual ~Optimizer() = default;

  void zero_grad();        // drops every parameter's gradient
  virtual void step() = 0; // one update from the current gradients
  double lr() const { return lr_; }
  void set_lr(double lr);  // e.g. from a schedule, before step()
  const std::vector<Var>& params() const { return params_; }

 protected:
  std::vector<Var> params_;
  double lr_;
};

// SGD with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD).
class Sgd : public Optimizer {
 public:
  Sgd(std::vector<Var> params, double lr, const SgdOptions& options = {});
  void step() override;

 private:
  SgdOptions options_;
  std::vector<Tensor> momentum_;  // per parameter, allocated at its first step when momentum is used
};

// Adam / AdamW (torch.optim.Adam / AdamW; AdamOptions::decoupled picks AdamW).
class Adam : public Optimizer {
 public:
  Adam(std::vector<Var> params, double lr, const AdamOptions& options = {});
  void step() override;

  // The state by parameter name, for checkpoints (names[i] names params()[i]): "exp_avg.NAME" and
  // "exp_avg_sq.NAME" (the moments, f32, the parameter's shape) and "step.NAME" ([1] i64, the parameter's
  // step count), torch.optim's names; a parameter not stepped yet has no entries.
  std::map<std::string, Tensor> state(const std::vector<std::string>& names) const;
  // Restores what state() wrote for these parameters (the same names): each parameter's three entries or
  // none (not stepped yet), with its shape; entries of other names are left to the caller. Returns the
  // number of entries read. Throws naming `where` and the entry when one is missing or malformed.
  int64_t load_state(const std::map<std::string, Tensor>& state, const std::vector<std::string>& names,
                     const std::string& where);

 private:
  AdamOptions options_;
  std::vector<Tensor> m_, v_;   // moments per parameter, allocated at its first step
  std::vector<int64_t> steps_;  // per-parameter step counts (for bias correction)
};

}  // namespace rotor::optim
