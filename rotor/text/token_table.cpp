#include "rotor/text/token_table.h"

#include "rotor/core/error.h"

namespace rotor::text {

TokenTable::TokenTable(const std::vector<RankedToken>& tokens) {
  uint32_t max_rank = 0;
  size_t total = 0;
  for (const auto& token : tokens) {
    ROTOR_CHECK(!token.bytes.empty(), "vocabulary: rank ", token.rank, " has no bytes");
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
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  pair_ranks_.assign(65536, kNoRank);
  for (const auto& token : tokens) {
    ROTOR_CHECK(lengths_[token.rank] == kAbsent, "vocabulary: rank ", token.rank, " appears twice");
    const auto* p = reinterpret_cast<const unsigned char*>(token.bytes.data());
    const size_t n = token.bytes.size();
    const uint64_t head = head_bytes(p, n);
    size_t index = hash_bytes(p, n, head) & mask_;
    for (; slots_[index].rank != kNoRank; index = (index + 1) & mask_) {
      const Slot& other = slots_[index];
      ROTOR_CHECK(!(other.head == head && other.length == n && bytes(other.rank) == token.bytes),
                  "vocabulary: ranks ", other.rank, " and ", token.rank, " have the same bytes");
    }
    offsets_[token.rank] = arena_.size();
    lengths_[token.rank] = static_cast<uint32_t>(n);
    arena_.insert(arena_.end(), token.bytes.begin(), token.bytes.end());
    slots_[index] = Slot{head, token.rank, static_cast<uint32_t>(n)};
    if (n == 2) pair_ranks_[p[0] | (unsigned(p[1]) << 8)] = token.rank;
  }
  for (int b = 0; b < 256; ++b) {
    const unsigned char byte = static_cast<unsigned char>(b);
    byte_ranks_[b] = find(&byte, 1);
    ROTOR_CHECK(byte_ranks_[b] != kNoRank, "vocabulary: the single byte 0x", std::hex, b,
                " has no rank (a byte-level BPE needs all 256)");
  }
}

}  // namespace rotor::text
