#pragma once
// Global-norm gradient clipping over one flat gradient buffer.
#include <cstdint>

namespace rotor::optim {

// The L2 norm of grads: [n], summed in double in fixed blocks (independent of the thread count).
double global_norm(const float* grads, int64_t n);
// If the norm exceeds max_norm, scales grads by max_norm / (norm + 1e-6) (PyTorch's clip_grad_norm_).
// Returns the norm before clipping.
double clip_global_norm(float* grads, int64_t n, double max_norm);

}  // namespace rotor::optim
