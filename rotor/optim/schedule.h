#pragma once
// Learning-rate schedule: linear warmup to lr_max over `warmup` steps, then cosine decay to lr_min at
// step `total`, constant lr_min afterwards. Steps are 0-based.
#include <cstdint>

namespace rotor::optim {

struct WarmupCosine {
  double lr_max = 1e-3, lr_min = 0.0;
  int64_t warmup = 0, total = 1;
  double at(int64_t step) const;
};

}  // namespace rotor::optim
