#pragma once
// TokenTable: the vocabulary of a byte-level BPE, both ways. Token bytes live in one arena indexed by
// rank. Bytes -> rank is an open-addressing hash table of 16-byte slots that hold the first 8 bytes
// of the token inline, so a token of up to 8 bytes is found with one memory access; byte pairs have
// their own direct table.
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

// The first min(n, 8) bytes as a little-endian integer, zero-padded, without reading past p + n.
inline uint64_t head_bytes(const unsigned char* p, size_t n) {
  if (n >= 8) return load64(p);
  if (n >= 4) return load32(p) | (load32(p + n - 4) << (8 * (n - 4)));
  if (n == 0) return 0;
  return uint64_t(p[0]) | (uint64_t(p[n >> 1]) << (8 * (n >> 1))) | (uint64_t(p[n - 1]) << (8 * (n - 1)));
}

// Hash of a byte string whose head_bytes are `head` (wyhash-style mixing).
inline uint64_t hash_bytes(const unsigned char* p, size_t n, uint64_t head) {
  constexpr uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL;
  uint64_t tail = 0;
  if (n > 8) {
    uint64_t seed = n * k1;
    for (size_t i = 8; i + 8 < n; i += 8) seed = mix64(load64(p + i) ^ k0, seed);
    tail = load64(p + n - 8) ^ seed;
  }
  return mix64(head ^ k0 ^ n, tail ^ k1);
}

class TokenTable {
 public:
  TokenTable() = default;
  explicit TokenTable(const std::vector<RankedToken>& tokens);

  // Rank of the byte string, or kNoRank.
  uint32_t find(const unsigned char* bytes, size_t n) const {
    const uint64_t head = head_bytes(bytes, n);
    const uint64_t h = hash_bytes(bytes, n, head);
    for (size_t index = h & mask_;; index = (index + 1) & mask_) {
      const Slot& slot = slots_[index];
      if (slot.rank == kNoRank) return kNoRank;
      if (slot.head == head && slot.length == n &&
          (n <= 8 || std::memcmp(arena_.data() + offsets_[slot.rank] + 8, bytes + 8, n - 8) == 0))
        return slot.rank;
    }
  }
  uint32_t find(std::string_view bytes) const {
    return find(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }
  uint32_t byte_rank(unsigned char b) const { return byte_ranks_[b]; }
  uint32_t pair_rank(unsigned char a, unsigned char b) const { return pair_ranks_[a | (unsigned(b) << 8)]; }

  bool contains(uint32_t rank) const { return rank < lengths_.size() && lengths_[rank] != kAbsent; }
  // Bytes of a rank; contains(rank) must hold.
  std::string_view bytes(uint32_t rank) const {
    return std::string_view(arena_.data() + offsets_[rank], lengths_[rank]);
  }
  size_t rank_limit() const { return lengths_.size(); }  // one more than the largest rank
  size_t size() const { return count_; }
  size_t max_token_length() const { return max_length_; }

 private:
  struct Slot {
    uint64_t head = 0;
    uint32_t rank = kNoRank;
    uint32_t length = 0;
  };
  static constexpr uint32_t kAbsent = 0xFFFFFFFFu;
  std::vector<char> arena_;
  std::vector<uint64_t> offsets_;
  std::vector<uint32_t> lengths_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> pair_ranks_;  // [a | b << 8]
  size_t mask_ = 0, count_ = 0, max_length_ = 0;
  uint32_t byte_ranks_[256];
};

}  // namespace rotor::text
