#pragma once
// PieceCache: a direct-mapped cache from short pieces (up to 16 bytes) to their tokens (up to 3),
// small enough to stay in the L2 cache. Frequent words then cost one cache-resident lookup instead
// of a miss in the large vocabulary table. It only ever holds correct results, so it cannot change
// the output; one lives per encoding call (no shared state).
#include <cstdint>
#include <cstring>
#include <memory>

#include "rotor/text/token_table.h"

namespace rotor::text {

class PieceCache {
 public:
  static constexpr size_t kMaxBytes = 16, kMaxTokens = 3;

  PieceCache() : entries_(new Entry[kEntries]()) {}

  // Writes the cached tokens of the piece to out and returns their count, or 0 on a miss.
  size_t lookup(const unsigned char* p, size_t n, uint64_t hash, uint32_t* out) const {
    const Entry& e = entries_[hash & (kEntries - 1)];
    if (e.length != n || e.key[0] != key0(p, n) || e.key[1] != key1(p, n)) return 0;
    std::memcpy(out, e.tokens, sizeof e.tokens);
    return e.count;
  }
  void store(const unsigned char* p, size_t n, uint64_t hash, const uint32_t* tokens, size_t count) {
    Entry& e = entries_[hash & (kEntries - 1)];
    e.key[0] = key0(p, n);
    e.key[1] = key1(p, n);
    e.length = static_cast<uint16_t>(n);
    e.count = static_cast<uint16_t>(count);
    std::memcpy(e.tokens, tokens, count * sizeof(uint32_t));
  }

 private:
  static constexpr size_t kEntries = 32768;
  static uint64_t key0(const unsigned char* p, size_t n) { return head_bytes(p, n < 8 ? n : 8); }
  static uint64_t key1(const unsigned char* p, size_t n) { return n > 8 ? head_bytes(p + 8, n - 8) : 0; }
  struct Entry {
    uint64_t key[2];
    uint16_t length;  // 0: empty
    uint16_t count;
    uint32_t tokens[kMaxTokens];
  };
  std::unique_ptr<Entry[]> entries_;
};

}  // namespace rotor::text
