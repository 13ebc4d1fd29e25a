#pragma once
// SGD with momentum, dampening, Nesterov momentum and L2 weight decay (PyTorch's rules):
//   g += wd * p;  buf = g on the first step, else buf = momentum * buf + (1 - dampening) * g;
//   g = nesterov ? g + momentum * buf : buf;  p -= lr * g
#include <cstdint>

namespace rotor::optim {

struct SgdOptions {
  double momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
};

// params, grads, buf: [n]; first_step: buf is initialized from the gradient.
void sgd_step(float* params, const float* grads, float* buf, int64_t n, double lr, bool first_step,
              const SgdOptions& opt);

}  // namespace rotor::optim
