#include "rotor/trees/table_digest.h"

#include <cstdio>

#include "rotor/dist/comm.h"

namespace rotor::trees {

std::string table_digest(const io::Table& t, int64_t row_offset, bool across_ranks) {
  int64_t sums[2] = {0, 0};
  for (int64_t r = 0; r < t.rows; ++r) {
    uint64_t h = 1469598103934665603ull ^ static_cast<uint64_t>(row_offset + r) * 0x9E3779B97F4A7C15ull;
    auto mix = [&h](const void* p, size_t n) {
      for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
    };
    if (!t.labels.empty()) mix(&t.labels[r], sizeof(float));
    if (!t.weights.empty()) mix(&t.weights[r], sizeof(float));
    mix(t.values.data() + r * t.cols, static_cast<size_t>(t.cols) * sizeof(float));
    sums[0] += static_cast<int64_t>(h & 0xffffffffu);
    sums[1] += static_cast<int64_t>(h >> 32);
  }
  if (across_ranks) dist::allreduce_sum(sums, 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(sums[0]),
                static_cast<unsigned long long>(sums[1]));
  return buf;
}

}  // namespace rotor::trees
