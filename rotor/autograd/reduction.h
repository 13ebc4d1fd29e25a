#pragma once
// Reductions on Vars over any axes (empty list = all dims), with keepdim as in PyTorch.
#include <vector>

#include "rotor/autograd/var.h"

namespace rotor::autograd {

using Axes = std::vector<int64_t>;

Var sum(const Var& x, const Axes& axes = {}, bool keepdim = false);
Var mean(const Var& x, const Axes& axes = {}, bool keepdim = false);
// amax / amin: the gradient is shared equally among tied extremes.
Var max(const Var& x, const Axes& axes = {}, bool keepdim = false);
Var min(const Var& x, const Axes& axes = {}, bool keepdim = false);
Var logsumexp(const Var& x, const Axes& axes = {}, bool keepdim = false);
// Variance with `correction` (1 = unbiased).
Var var(const Var& x, const Axes& axes = {}, int64_t correction = 1, bool keepdim = false);
// x summed down to `shape` (which x's shape broadcasts from): the gradient of a broadcast operand.
Var sum_to_shape(const Var& x, const Shape& shape);

}  // namespace rotor::autograd
