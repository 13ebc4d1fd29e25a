#pragma once
// BytePairEncoding: tiktoken-compatible byte-level BPE. Text is split into pieces by the pattern's
// pre-tokenizer; a piece that is itself a token becomes that token, otherwise its bytes are merged
// pairwise, always the adjacent pair whose concatenation has the lowest rank (leftmost on ties),
// until no adjacent pair is a token. Special tokens (e.g. <|endoftext|>) follow tiktoken's rules.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rotor/text/pretokenizer.h"
#include "rotor/text/rank_file.h"
#include "rotor/text/token_table.h"

namespace rotor::text {

class PieceCache;

struct SpecialToken {
  std::string text;
  uint32_t id;
};

// What to do with text that spells a special token.
enum class SpecialMode {
  kError,   // tiktoken's default (disallowed_special="all"): throw rotor::Error
  kAllow,   // allowed_special="all": encode it as the special token's id
  kAsText,  // encode_ordinary: encode it as ordinary text
};

class BytePairEncoding {
 public:
  BytePairEncoding(std::string name, const std::vector<RankedToken>& ranks, SplitPattern pattern,
                   std::vector<SpecialToken> specials);

  // Encodes UTF-8 text (invalid UTF-8 throws, naming the byte offset). Large inputs are split at
  // independent piece boundaries and encoded on `threads` threads (0: the current setting); the
  // result does not depend on the thread count.
  std::vector<uint32_t> encode(std::string_view text, SpecialMode mode, int threads = 1) const;
  // Appends the tokens of text with no special-token handling; text must be valid UTF-8.
  void encode_ordinary(std::string_view text, std::vector<uint32_t>& out) const;
  // Appends the tokens of one piece (any bytes).
  void encode_piece(std::string_view piece, std::vector<uint32_t>& out) const;

  // Bytes of the tokens; an id outside the vocabulary throws.
  std::string decode(std::span<const uint32_t> ids) const;

  const std::string& name() const { return name_; }
  SplitPattern pattern() const { return pattern_; }
  const std::vector<SpecialToken>& specials() const { return specials_; }
  const TokenTable& table() const { return table_; }
  size_t vocab_size() const { return vocab_size_; }  // largest id + 1, specials included

 private:
  void merge_small(const unsigned char* piece, size_t n, std::vector<uint32_t>& out) const;
  void merge_large(const unsigned char* piece, size_t n, std::vector<uint32_t>& out) const;
  void encode_ordinary(std::string_view text, std::vector<uint32_t>& out, PieceCache* cache) const;
  void encode_ordinary_parallel(std::string_view text, int threads, std::vector<uint32_t>& out) const;

  std::string name_;
  TokenTable table_;
  SplitPattern pattern_;
  std::vector<SpecialToken> specials_;
  size_t vocab_size_ = 0;
};

}  // namespace rotor::text
