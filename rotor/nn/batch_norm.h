#pragma once
// Normalisation over channels for convolutional models.
//
// BatchNorm: batch normalisation over the channel dimension 1 of [N, C] or [N, C, ...] inputs (BatchNorm1d/2d).
// Training: normalise with the batch mean and biased variance, and update the running statistics
// (running = (1 - momentum) running + momentum batch, the variance stored unbiased) as PyTorch does.
// Evaluation: normalise with the running statistics. Parameters "weight" (ones), "bias" (zeros).
// The running statistics are not parameters: read them with the accessors (state_dict() holds
// parameters only).
#include <utility>

#include "rotor/nn/module.h"

namespace rotor::nn {

// The functional forms the modules call (and the gradient-check harness checks).
// x: [N, C, ...]; mean, var: [1, C, 1, ...]; weight, bias: [C] -> x's shape.
Var batch_norm(const Var& x, const Var& mean, const Var& var, const Var& weight, const Var& bias, double eps);
// The batch's per-channel mean and biased variance of x [N, C, ...], each [1, C, 1, ...].
std::pair<Var, Var> batch_statistics(const Var& x);
// Training mode in one op (rotor/kernels/batchnorm.h): batch_norm(x, batch_statistics(x) ..., weight, bias,
// eps) with a fused forward and backward (the backward also as differentiable ops, for create_graph).
// y: x's shape; mean, var (biased): [C], for the running statistics. weight, bias: [C].
struct BatchNormOutput {
  Var y;
  Tensor mean, var;
};
BatchNormOutput batch_norm_training(const Var& x, const Var& weight, const Var& bias, double eps);
// x: [N, C, ...], weight, bias: [C]; C % groups == 0.
Var group_norm(const Var& x, int64_t groups, const Var& weight, const Var& bias, double eps);

class BatchNorm : public Module {
 public:
  explicit BatchNorm(int64_t channels, double eps = 1e-5, double momentum = 0.1, DType dtype = DType::f32);
  Var forward(const Var& x);  // updates the running statistics in training mode
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }

 private:
  Var weight_, bias_;
  Tensor running_mean_, running_var_;
  double eps_, momentum_;
};

// Group normalisation: channels (dim 1 of [N, C, ...]) split into `groups`; each (sample, group) is
// normalised over its channels and positions with the biased variance, then scaled per channel.
// Parameters "weight" (ones) and "bias" (zeros) of shape [C]. Same in training and evaluation.
class GroupNorm : public Module {
 public:
  GroupNorm(int64_t groups, int64_t channels, double eps = 1e-5, DType dtype = DType::f32);
  Var forward(const Var& x) const;

 private:
  Var weight_, bias_;
  int64_t groups_;
  double eps_;
};

}  // namespace rotor::nn
