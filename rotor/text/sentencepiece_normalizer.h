#pragma once
// SentencePieceNormalizer: sentencepiece's text normalization as a model specifies it: the
// precompiled character map (a double-array trie from input sequences to replacement strings, e.g. the
// NFKC-based nmt_nfkc rules), removal of leading, trailing and repeated spaces, the dummy prefix space,
// and escaping spaces as U+2581 (▁). User-defined symbols pass through unchanged.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rotor/text/sentencepiece_model.h"

namespace rotor::text {

inline constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // ▁

class SentencePieceNormalizer {
 public:
  SentencePieceNormalizer(const SentencePieceModel& model, std::vector<std::string> user_defined);
  std::string normalize(std::string_view input) const;

 private:
  // The replacement of the longest rule matching a prefix of input and the bytes it consumes.
  std::pair<std::string_view, size_t> normalize_prefix(std::string_view input) const;
  // Length of the longest charsmap key that prefixes input (0 if none); sets its replacement.
  size_t longest_rule(std::string_view input, std::string_view& replacement) const;

  std::vector<uint32_t> trie_;  // darts-clone double-array units
  std::string replacements_;    // NUL-terminated replacement strings, indexed by trie values
  std::vector<std::string> user_defined_;
  bool add_dummy_prefix_, remove_extra_whitespaces_, escape_whitespaces_, whitespace_as_suffix_;
};

// Length of the valid UTF-8 character at the start of s, or 0 if s does not start with one.
size_t utf8_char_length(std::string_view s);

}  // namespace rotor::text
