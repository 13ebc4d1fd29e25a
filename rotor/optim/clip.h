#pragma once
// Global-norm gradient clipping over one flat gradient buffer.
#include <cstdint>
#include <vector>

#include "rotor/autograd/var.h"

namespace rotor::optim {

// The L2 norm of grads: [n], summed in double in fixed blocks (independent of the thread count).
double global_norm(const float* grads, int64_t n);
// If the norm exceeds max_norm, scales grads by max_norm / (norm + 1e-6) (PyTorch's clip_grad_norm_).
// Returns the norm before clipping.
double clip_global_norm(float* grads, int64_t n, double max_norm);
// The same over the gradients of separate parameters (those without a gradient are skipped): the global
// L2 norm summed in double in parameter order; when max_norm > 0 and the norm exceeds it, every gradient is
// replaced by a scaled copy. Returns the norm before clipping.
double clip_parameter_gradients(const std::vector<autograd::Var>& params, double max_norm);

}  // namespace rotor::optim
