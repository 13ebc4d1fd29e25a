#pragma once
// Loss functions on Vars.
#include <cstdint>

#include "rotor/autograd/var.h"

namespace rotor::autograd {

enum class Reduction { mean, sum, none };

struct CrossEntropyOptions {
  int64_t ignore_index = -100;   // targets equal to this contribute nothing (and do not count for mean)
  double label_smoothing = 0.0;  // target distribution (1 - s) * onehot + s / C, as in PyTorch
  Reduction reduction = Reduction::mean;
};

// logits: [..., C], targets: [...] integer class ids -> scalar (mean/sum) or [...] (none).
// Fused log-softmax + negative log-likelihood: the backward is softmax - target distribution.
// With mean reduction and every target ignored the result is NaN (0/0), as in PyTorch.
Var cross_entropy(const Var& logits, const Tensor& targets, const CrossEntropyOptions& options = {});

// mean((a - b)^2) (or sum / none), a and b broadcast.
Var mse_loss(const Var& a, const Var& b, Reduction reduction = Reduction::mean);

// Binary cross-entropy on logits x with targets y in [0, 1] (numerically stable form).
Var binary_cross_entropy_with_logits(const Var& x, const Var& y, Reduction reduction = Reduction::mean);

}  // namespace rotor::autograd
