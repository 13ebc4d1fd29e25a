#pragma once
// Module: the base of every neural-network layer and model.
//
// A module owns named parameters (autograd Vars that require grad) and named child modules. Names are
// dotted paths as in PyTorch ("blocks.0.attn.weight"), so state dicts map one-to-one onto safetensors
// files and Hugging Face checkpoints.
//
//   class Mlp : public Module {
//    public:
//     Mlp(int64_t d, Rng& rng) : fc1_(add_module("fc1", std::make_shared<Linear>(d, 4 * d, true, rng))),
//                                fc2_(add_module("fc2", std::make_shared<Linear>(4 * d, d, true, rng))) {}
//     Var forward(const Var& x) { return fc2_->forward(relu(fc1_->forward(x))); }
//    private:
//     std::shared_ptr<Linear> fc1_, fc2_;
//   };
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rotor/autograd/var.h"

namespace rotor::nn {

using autograd::Var;
using StateDict = std::map<std::string, Tensor>;

class Module {
 public:
  virtual ~Module() = default;

  // All parameters of this module and its children, depth first, in registration order.
  std::vector<std::pair<std::string, Var>> named_parameters() const;
  std::vector<Var> parameters() const;
  int64_t parameter_count() const;  // number of scalar parameters

  // Training mode (dropout active) vs evaluation; applies to children too.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad();

  // name -> value (sharing storage with the parameters).
  StateDict state_dict() const;
  // Copy values in (converting dtype). Names must match exactly and shapes must agree; with strict,
  // missing and unexpected names are errors too.
  void load_state_dict(const StateDict& state, bool strict = true);

 protected:
  // Register a parameter (f32 or f64) under `name`; returns the Var (a shared handle).
  Var add_parameter(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> add_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Var>>& out) const;

  std::vector<std::pair<std::string, Var>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace rotor::nn
