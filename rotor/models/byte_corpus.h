#pragma once
// ByteCorpus: a text file as byte tokens (vocab 256), split into a training part and a held-out
// validation tail, with random (seeded) [B, T] windows for language-model training.
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/core/rng.h"

namespace rotor::models {

struct ByteCorpus {
  std::string source;            // file path, for messages
  std::vector<uint8_t> train, val;

  // Reads the file; the last `val_fraction` of the bytes is held out. Throws for a missing, unreadable
  // or empty file.
  static ByteCorpus load(const std::string& path, double val_fraction = 0.05);
  // Throws naming --ctx when a split is too short for windows of ctx + 1 bytes.
  void check_context(int64_t ctx) const;
};

// x, y: [B, T]; y is x shifted by one. Window starts are uniform over the split (one rng draw each).
void sample_windows(const std::vector<uint8_t>& split, Rng& rng, int64_t B, int64_t T, int32_t* x, int32_t* y);

}  // namespace rotor::models
