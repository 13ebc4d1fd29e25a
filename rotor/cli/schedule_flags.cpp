#include "rotor/cli/schedule_flags.h"

#include <cmath>

#include "rotor/core/error.h"

namespace rotor::cli {

void check_schedule_flags(const CLI::App& cmd, const ScheduleFlags& f, double given_lr_min, int64_t given_warmup) {
  ROTOR_CHECK(std::isfinite(f.lr) && f.lr > 0, "--lr must be a number > 0, got ", f.lr);
  const double lr_min = cmd.count("--lr-min") ? given_lr_min : f.lr_min;
  ROTOR_CHECK(std::isfinite(lr_min) && lr_min >= 0 && lr_min <= f.lr && f.lr_min >= 0 && f.lr_min <= f.lr,
              "--lr-min must be between 0 and --lr (", f.lr, "), got ", lr_min);
  ROTOR_CHECK(std::isfinite(f.clip) && f.clip >= 0, "--clip must be >= 0 (0: off), got ", f.clip);
  ROTOR_CHECK(std::isfinite(f.weight_decay) && f.weight_decay >= 0, "--weight-decay must be >= 0, got ",
              f.weight_decay);
  ROTOR_CHECK(cmd.count("--warmup") == 0 || given_warmup >= 0, "--warmup must be >= 0, got ", given_warmup);
  ROTOR_CHECK(f.warmup <= f.steps, "--warmup (", f.warmup, ") must not exceed --steps (", f.steps, ")");
}

}  // namespace rotor::cli
