#pragma once
// Rng: the one seeded random generator, passed explicitly. xoshiro256** seeded through splitmix64,
// so the same seed gives the same stream on every machine and compiler.
#include <cstdint>

namespace rotor {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed);

  uint64_t next_u64();
  uint32_t next_u32() { return static_cast<uint32_t>(next_u64() >> 32); }
  // Uniform integer in [0, n), unbiased (Lemire's multiply-shift with rejection). n must be > 0.
  uint64_t uniform_int(uint64_t n);
  double uniform();             // [0, 1) with 53 random bits
  float uniform_float();        // [0, 1) with 24 random bits
  double normal();              // standard normal (Box-Muller, both values used)
  // A child generator whose stream is independent of this one (for per-thread or per-tree streams).
  Rng split(uint64_t stream);

  // Raw state, for checkpoints.
  struct State {
    uint64_t s[4];
    bool has_spare;
    double spare;
  };
  State state() const { return {{s_[0], s_[1], s_[2], s_[3]}, has_spare_, spare_}; }
  void set_state(const State& st);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace rotor
