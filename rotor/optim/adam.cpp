#include "rotor/optim/adam.h"

#include <algorithm>
#include <cmath>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/kernels/bf16_convert.h"

namespace rotor::optim {

void adam_step(float* params, const float* grads, float* m, float* v, int64_t n, double lr, int64_t step,
               const AdamOptions& opt, bf16* params16) {
  ROTOR_CHECK(step >= 1, "adam: step must be >= 1, got ", step);
  const float b1 = float(opt.beta1), b2 = float(opt.beta2);
  const float step_size = float(lr / (1.0 - std::pow(opt.beta1, double(step))));
  const float inv_bc2_sqrt = float(1.0 / std::sqrt(1.0 - std::pow(opt.beta2, double(step))));
  const float eps = float(opt.eps);
  const float decay = opt.decoupled ? float(1.0 - lr * opt.weight_decay) : 1.0f;
  const float l2 = opt.decoupled ? 0.0f : float(opt.weight_decay);
#pragma omp parallel for simd if (n >= kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grads[i] + l2 * params[i];
    const float mi = b1 * m[i] + (1.0f - b1) * g;
    const float vi = b2 * v[i] + (1.0f - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] = params[i] * decay - step_size * mi / (std::sqrt(vi) * inv_bc2_sqrt + eps);
  }
  if (params16) kernels::float_to_bf16_buffer(params16, params, n);  // while the values are in cache
}

}  // namespace rotor::optim
