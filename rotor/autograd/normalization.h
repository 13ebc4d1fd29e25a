#pragma once
// Normalisation over the last dimension of a Var, fused forward and backward (llm.c style: the forward
// saves the per-row mean and reciprocal standard deviation, the backward recomputes x-hat).
#include "rotor/autograd/var.h"

namespace rotor::autograd {

// x: [..., C], weight: [C] or undefined, bias: [C] or undefined -> [..., C].
// y = (x - mean) / sqrt(var + eps) * weight + bias, with the population variance.
Var layer_norm(const Var& x, const Var& weight, const Var& bias, double eps = 1e-5);
// y = x / sqrt(mean(x^2) + eps) * weight.
Var rms_norm(const Var& x, const Var& weight, double eps = 1e-6);

}  // namespace rotor::autograd
