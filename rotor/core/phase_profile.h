#pragma once
// Wall-clock time per named phase of repeated work (a training step's norms, matmuls, attention ...),
// for `rotor train --profile`. Disabled profiles cost one branch per scope. Phases are reported in
// the order they were first seen. Not thread-safe: time phases from the thread that drives the work.
#include <chrono>
#include <string>
#include <vector>

namespace rotor {

class PhaseProfile {
 public:
  class Scope {
   public:
    Scope(PhaseProfile* profile, const char* phase);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    PhaseProfile* profile_;
    const char* phase_;
    std::chrono::steady_clock::time_point start_;
  };

  void set_enabled(bool on) { enabled_ = on; }
  bool enabled() const { return enabled_; }
  // Times the enclosing block as `phase` (a string literal: phases are told apart by address and text).
  Scope time(const char* phase) { return Scope(enabled_ ? this : nullptr, phase); }
  void add(const char* phase, double seconds);
  void clear() { phases_.clear(); }
  bool empty() const { return phases_.empty(); }
  // A table of milliseconds per repetition and the share of the total, one line per phase.
  std::string table(int64_t repetitions) const;

 private:
  struct Phase {
    const char* name;
    double seconds;
  };
  bool enabled_ = false;
  std::vector<Phase> phases_;
};

}  // namespace rotor
