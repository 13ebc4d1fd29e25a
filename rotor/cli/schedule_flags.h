#pragma once
// The learning-rate schedule and AdamW flags that `rotor train` and `rotor finetune` share
// (--lr, --lr-min, --warmup, --clip, --weight-decay against --steps), checked in one place.
#include <CLI/CLI.hpp>

#include <cstdint>

namespace rotor::cli {

// Values after the command's defaults were applied (lr_min and warmup resolved).
struct ScheduleFlags {
  double lr = 0, lr_min = 0, clip = 0, weight_decay = 0;
  int64_t warmup = 0, steps = 0;
};

// One clear error (rotor::Error) for values that parse but make no sense: --lr > 0, 0 <= --lr-min <= --lr,
// --clip, --weight-decay and --warmup >= 0, --warmup <= --steps. given_lr_min / given_warmup are the
// flags as typed, checked only when cmd saw them (a negative value there would otherwise read as "default").
void check_schedule_flags(const CLI::App& cmd, const ScheduleFlags& flags, double given_lr_min, int64_t given_warmup);

}  // namespace rotor::cli
