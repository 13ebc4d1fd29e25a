#include "rotor/core/phase_profile.h"

#include <cstdio>
#include <cstring>

namespace rotor {

PhaseProfile::Scope::Scope(PhaseProfile* profile, const char* phase) : profile_(profile), phase_(phase) {
  if (profile_) start_ = std::chrono::steady_clock::now();
}

PhaseProfile::Scope::~Scope() {
  if (profile_)
    profile_->add(phase_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
}

void PhaseProfile::add(const char* phase, double seconds) {
  for (Phase& p : phases_)
    if (p.name == phase || std::strcmp(p.name, phase) == 0) {
      p.seconds += seconds;
      return;
    }
  phases_.push_back({phase, seconds});
}

std::string PhaseProfile::table(int64_t repetitions) const {
  double total = 0;
  for (const Phase& p : phases_) total += p.seconds;
  const double reps = repetitions > 0 ? double(repetitions) : 1.0;
  std::string out;
  char line[160];
  std::snprintf(line, sizeof line, "%-28s %12s %7s\n", "phase", "ms/step", "share");
  out += line;
  for (const Phase& p : phases_) {
    std::snprintf(line, sizeof line, "%-28s %12.2f %6.1f%%\n", p.name, 1e3 * p.seconds / reps,
                  total > 0 ? 100.0 * p.seconds / total : 0.0);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-28s %12.2f %6.1f%%\n", "total", 1e3 * total / reps, 100.0);
  out += line;
  return out;
}

}  // namespace rotor
