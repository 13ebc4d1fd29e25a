#include "rotor/autograd/profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

namespace rotor::autograd {

namespace {

struct OpTimes {
  long calls = 0;
  double forward = 0, backward = 0;  // seconds
};

struct Profile {
  std::map<std::string, OpTimes> ops;
  double last = 0;  // when the previous op was recorded (or the profile reset)
};

thread_local Profile t_profile;

}  // namespace

bool profile_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("ROTOR_PROFILE");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

double profile_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void profile_forward(const char* op) {
  const double now = profile_now();
  OpTimes& t = t_profile.ops[op];
  ++t.calls;
  if (t_profile.last > 0) t.forward += now - t_profile.last;
  t_profile.last = now;
}

void profile_backward(const std::string& op, double seconds) {
  t_profile.ops[op].backward += seconds;
  t_profile.last = profile_now();
}

void profile_reset() {
  t_profile.ops.clear();
  t_profile.last = profile_now();
}

void profile_report(const char* title, int steps) {
  if (!profile_enabled()) return;
  std::vector<std::pair<std::string, OpTimes>> rows(t_profile.ops.begin(), t_profile.ops.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second.forward + a.second.backward > b.second.forward + b.second.backward;
  });
  double total = 0;
  for (const auto& r : rows) total += r.second.forward + r.second.backward;
  const double per = 1000.0 / std::max(steps, 1);
  std::fprintf(stderr, "profile %s (per step; forward = time since the previous op)\n", title);
  std::fprintf(stderr, "  %-28s %10s %12s %12s %8s\n", "op", "calls", "fwd_ms", "bwd_ms", "total%");
  for (const auto& [name, t] : rows)
    std::fprintf(stderr, "  %-28s %10.1f %12.3f %12.3f %8.1f\n", name.c_str(), double(t.calls) / std::max(steps, 1),
                 t.forward * per, t.backward * per, total > 0 ? 100.0 * (t.forward + t.backward) / total : 0.0);
  std::fprintf(stderr, "  %-28s %10s %12s %12.3f\n", "sum", "", "", total * per);
}

}  // namespace rotor::autograd
