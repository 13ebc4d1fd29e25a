#include "rotor/optim/schedule.h"

#include <algorithm>
#include <cmath>

namespace rotor::optim {

double WarmupCosine::at(int64_t step) const {
  if (step < warmup) return lr_max * double(step + 1) / double(warmup);
  if (step >= total) return lr_min;
  const double progress = double(step - warmup) / double(std::max<int64_t>(1, total - warmup));
  return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace rotor::optim
