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
  // One loop per case, without branches inside, so that each vectorises.
  if (opt.momentum == 0.0) {
#pragma omp parallel for simd if (n >= kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) params[i] -= rate * (grads[i] + wd * params[i]);
  } else if (first_step) {
#pragma omp parallel for simd if (n >= kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) {
      const float g = grads[i] + wd * params[i];
      buf[i] = g;
      params[i] -= rate * (opt.nesterov ? g + mu * g : g);
    }
  } else if (opt.nesterov) {
#pragma omp parallel for simd if (n >= kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) {
      const float g = grads[i] + wd * params[i];
      const float b = mu * buf[i] + damp * g;
      buf[i] = b;
      params[i] -= rate * (g + mu * b);
    }
  } else {
#pragma omp parallel for simd if (n >= kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) {
      const float b = mu * buf[i] + damp * (grads[i] + wd * params[i]);
      buf[i] = b;
      params[i] -= rate * b;
    }
  }
}

}  // namespace rotor::optim
