#pragma once
// Feed-forward blocks of transformers.
#include <memory>

#include "rotor/nn/layers.h"

namespace rotor::nn {

// x: [..., dim] -> fc2(act(fc1(x))): [..., dim]; fc1: dim -> hidden, fc2: hidden -> dim.
class Mlp : public Module {
 public:
  Mlp(int64_t dim, int64_t hidden, Activation act, bool bias, Rng& rng, DType dtype = DType::f32);
  Var forward(const Var& x) const;

 private:
  std::shared_ptr<Linear> fc1_, fc2_;
  Activation act_;
};

// Gated MLP (GLU family): down(act(gate(x)) * up(x)), no biases (LLaMA style).
// SwiGLU: act = silu; GeGLU: act = gelu.  Parameter names: gate.weight, up.weight, down.weight
// (LLaMA's gate_proj/up_proj/down_proj).
class GatedMlp : public Module {
 public:
  GatedMlp(int64_t dim, int64_t hidden, Activation act, Rng& rng, DType dtype = DType::f32);
  Var forward(const Var& x) const;

 private:
  std::shared_ptr<Linear> gate_, up_, down_;
  Activation act_;
};

}  // namespace rotor::nn
