#include "rotor/text/token_table.h"

#include "rotor/core/error.h"

namespace rotor::text {

TokenTable::TokenTable(const std::vector<RankedToken>& tokens) {
  uint32_t max_rank = 0;
  size_t total = 0;
  for (const auto& token : tokens) {
    max_rank = std::max(max_rank, token.rank);
    total += token.bytes.size();
    max_length_ = std::max(max_length_, token.bytes.size());
  }
  count_ = tokens.size();
  arena_.reserve(total);
  offsets_.assign(size_t(max_rank) + 1, 0);
  lengths_.assign(size_t(max_rank) + 1, kAbsent);
  size_t capacity = 1024;
  while (capacity < 2 * tokens.size()) capacity *= 2;
  slots_.assign(capacity, 0);
  mask_ = capacity - 1;
  for (const auto& token : tokens) {
    ROTOR_CHECK(lengths_[token.rank] == kAbsent, "vocabulary: rank ", token.rank, " appears twice");
    offsets_[token.rank] = arena_.size();
    lengths_[token.rank] = static_cast<uint32_t>(token.bytes.size());
    arena_.insert(arena_.end(), token.bytes.begin(), token.bytes.end());
    const auto* p = reinterpret_cast<const unsigned char*>(token.bytes.data());
    const uint64_t h = hash_bytes(p, token.bytes.size());
    size_t slot = h & mask_;
    while (slots_[slot] != 0) {
      const uint32_t other = static_cast<uint32_t>(slots_[slot]) - 1;
      ROTOR_CHECK(bytes(other) != token.bytes, "vocabulary: ranks ", other, " and ", token.rank,
                  " have the same bytes");
      slot = (slot + 1) & mask_;
    }
    slots_[slot] = (h >> 32 << 32) | (uint64_t(token.rank) + 1);
  }
  for (int b = 0; b < 256; ++b) {
    const unsigned char byte = static_cast<unsigned char>(b);
    byte_ranks_[b] = find(&byte, 1);
    ROTOR_CHECK(byte_ranks_[b] != kNoRank, "vocabulary: the single byte 0x", std::hex, b,
                " has no rank (a byte-level BPE needs all 256)");
  }
}

}  // namespace rotor::text
