#include "rotor/optim/sgd.h"

#include "rotor/core/error.h"
#include "rotor/core/threads.h"

namespace rotor::optim {

void sgd_step(float* params, const float* grads, float* buf, int64_t n, double lr, bool first_step,
              const SgdOptions& opt) {
  ROTOR_CHECK(!opt.nesterov || (opt.momentum > 0 && opt.dampening == 0),
              "sgd: Nesterov momentum needs momentum > 0 and zero dampening");
  const float mu = float(opt.momentum), damp = float(1.0 - opt.dampening), wd = float(opt.weight_decay),
              rate = float(lr);
  const bool use_momentum = opt.momentum != 0.0, nesterov = opt.nesterov;
#pragma omp parallel for simd if (n >= kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    float g = grads[i] + wd * params[i];
    if (use_momentum) {
      const float b = first_step ? g : mu * buf[i] + damp * g;
      buf[i] = b;
      g = nesterov ? g + mu * b : b;
    }
    params[i] -= rate * g;
  }
}

}  // namespace rotor::optim
