#pragma once
// Basic layers: Linear, Embedding, LayerNorm, RMSNorm, Dropout, and activation selection.
// Parameters are f32 unless a dtype is given (f64 modules serve checks against references).
// Parameter names follow PyTorch: "weight", "bias".
#include <memory>
#include <string>

#include "rotor/autograd/arithmetic.h"
#include "rotor/core/rng.h"
#include "rotor/nn/module.h"

namespace rotor::nn {

// y = x W^T + b.  x: [..., in] -> [..., out].  weight: [out, in], bias: [out].
// Initialised as PyTorch does: U(-1/sqrt(in), 1/sqrt(in)) for both.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias, Rng& rng, DType dtype = DType::f32);
  Var forward(const Var& x) const;
  const Var& weight() const { return weight_; }
  const Var& bias() const { return bias_; }  // undefined without bias
  int64_t in_features() const { return weight_.size(1); }
  int64_t out_features() const { return weight_.size(0); }

 private:
  Var weight_, bias_;
};

// ids: [...] (i64/i32) -> [..., dim].  weight: [num, dim] ~ N(0, init_std^2).
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, Rng& rng, double init_std = 1.0, DType dtype = DType::f32);
  Var forward(const Tensor& ids) const;
  const Var& weight() const { return weight_; }

 private:
  Var weight_;
};

// Over the last dim of size `dim`: weight (ones) and bias (zeros) when affine / with_bias.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool affine = true, bool with_bias = true,
                     DType dtype = DType::f32);
  Var forward(const Var& x) const;

 private:
  Var weight_, bias_;
  double eps_;
};

// x / sqrt(mean(x^2) + eps) * weight (ones).
class RMSNorm : public Module {
 public:
  explicit RMSNorm(int64_t dim, double eps = 1e-6, DType dtype = DType::f32);
  Var forward(const Var& x) const;

 private:
  Var weight_;
  double eps_;
};

// Inverted dropout, active only in training mode; the mask comes from the caller's generator.
class Dropout : public Module {
 public:
  explicit Dropout(double p);
  Var forward(const Var& x, Rng& rng) const;

 private:
  double p_;
};

enum class Activation { relu, gelu, gelu_tanh, silu, tanh, sigmoid };
Activation activation_from_name(const std::string& name);  // "relu", "gelu", "gelu_tanh", "silu", ...
Var activate(const Var& x, Activation a);

}  // namespace rotor::nn
