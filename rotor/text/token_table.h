#pragma once
// TokenTable: the vocabulary of a byte-level BPE, both ways. Token bytes live in one arena indexed by
// rank; an open-addressing hash table (8-byte slots: hash tag and rank) maps bytes to ranks.
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "rotor/text/rank_file.h"

namespace rotor::text {

constexpr uint32_t kNoRank = 0xFFFFFFFFu;

inline uint64_t mix64(uint64_t a, uint64_t b) {
  const __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t load32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// A fast hash of a short byte string (wyhash-style mixing).
inline uint64_t hash_bytes(const unsigned char* p, size_t n) {
  constexpr uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL;
  uint64_t a, b, seed = n * k1;
  if (n <= 16) {
    if (n >= 4) {
      a = (load32(p) << 32) | load32(p + ((n >> 3) << 2));
      b = (load32(p + n - 4) << 32) | load32(p + n - 4 - ((n >> 3) << 2));
    } else if (n > 0) {
      a = (uint64_t(p[0]) << 16) | (uint64_t(p[n >> 1]) << 8) | p[n - 1];
      b = 0;
    } else {
      a = b = 0;
    }
  } else {
    size_t i = n;
    while (i > 16) {
      seed = mix64(load64(p) ^ k0, load64(p + 8) ^ seed);
      p += 16;
      i -= 16;
    }
    a = load64(p + i - 16);
    b = load64(p + i - 8);
  }
  return mix64(a ^ k0 ^ n, mix64(b ^ k1, seed ^ k0));
}

class TokenTable {
 public:
  TokenTable() = default;
  explicit TokenTable(const std::vector<RankedToken>& tokens);

  // Rank of the byte string, or kNoRank.
  uint32_t find(const unsigned char* bytes, size_t n) const {
    const uint64_t h = hash_bytes(bytes, n);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t slot = h & mask_;; slot = (slot + 1) & mask_) {
      const uint64_t entry = slots_[slot];
      if (entry == 0) return kNoRank;
      if (static_cast<uint32_t>(entry >> 32) == tag) {
        const uint32_t rank = static_cast<uint32_t>(entry) - 1;
        if (lengths_[rank] == n && std::memcmp(arena_.data() + offsets_[rank], bytes, n) == 0) return rank;
      }
    }
  }
  uint32_t find(std::string_view bytes) const {
    return find(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }
  uint32_t byte_rank(unsigned char b) const { return byte_ranks_[b]; }

  // Bytes of a rank; contains(rank) must hold.
  bool contains(uint32_t rank) const { return rank < lengths_.size() && lengths_[rank] != kAbsent; }
  std::string_view bytes(uint32_t rank) const {
    return std::string_view(arena_.data() + offsets_[rank], lengths_[rank]);
  }
  size_t rank_limit() const { return lengths_.size(); }  // one more than the largest rank
  size_t size() const { return count_; }
  size_t max_token_length() const { return max_length_; }

 private:
  static constexpr uint32_t kAbsent = 0xFFFFFFFFu;
  std::vector<char> arena_;
  std::vector<uint64_t> offsets_;
  std::vector<uint32_t> lengths_;
  std::vector<uint64_t> slots_;  // (tag << 32) | (rank + 1); 0 is empty
  size_t mask_ = 0, count_ = 0, max_length_ = 0;
  uint32_t byte_ranks_[256];
};

}  // namespace rotor::text
