#pragma once
// Adam and AdamW over flat f32 buffers (PyTorch's update rules, bias-corrected).
//   AdamW (decoupled):  p -= lr * wd * p;  then the Adam step.
//   Adam (L2):          g += wd * p;       then the Adam step.
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#include <cstdint>

#include "rotor/core/dtype.h"

namespace rotor::optim {

struct AdamOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled = true;  // true: AdamW, false: Adam with L2 regularization
};

// params, grads, m, v: [n]; step: the 1-based step number (for bias correction).
// With params16 (n values) the updated parameters are also written rounded to bf16 there (the copy that
// bf16 matmuls read), saving a separate conversion pass.
void adam_step(float* params, const float* grads, float* m, float* v, int64_t n, double lr, int64_t step,
               const AdamOptions& opt, bf16* params16 = nullptr);

}  // namespace rotor::optim
