#include "rotor/text/sentencepiece_normalizer.h"

#include <cstring>

#include "rotor/core/error.h"
#include "rotor/text/unicode_class.h"

namespace rotor::text {

size_t utf8_char_length(std::string_view s) {
  if (s.empty()) return 0;
  const size_t n = std::min<size_t>(s.size(), 4);
  const size_t bad = find_invalid_utf8(s.substr(0, n));
  if (bad > 0) {
    unsigned length;
    decode_utf8(reinterpret_cast<const unsigned char*>(s.data()), length);
    return length <= bad ? length : 0;
  }
  return 0;
}

SentencePieceNormalizer::SentencePieceNormalizer(const SentencePieceModel& model,
                                                 std::vector<std::string> user_defined)
    : user_defined_(std::move(user_defined)),
      add_dummy_prefix_(model.add_dummy_prefix),
      remove_extra_whitespaces_(model.remove_extra_whitespaces),
      escape_whitespaces_(model.escape_whitespaces),
      whitespace_as_suffix_(model.treat_whitespace_as_suffix) {
  const std::string& blob = model.precompiled_charsmap;
  if (blob.empty()) return;  // identity: no rules
  // Layout: uint32 trie size in bytes, the trie units, then the replacement strings.
  ROTOR_CHECK(blob.size() >= 4, "sentencepiece: precompiled charsmap of ", blob.size(), " bytes is truncated");
  uint32_t trie_bytes;
  std::memcpy(&trie_bytes, blob.data(), 4);
  ROTOR_CHECK(trie_bytes % 4 == 0 && trie_bytes > 0 && trie_bytes <= blob.size() - 4,
              "sentencepiece: precompiled charsmap trie size ", trie_bytes, " does not fit its ", blob.size(),
              " bytes");
  trie_.resize(trie_bytes / 4);
  std::memcpy(trie_.data(), blob.data() + 4, trie_bytes);
  replacements_ = blob.substr(4 + trie_bytes);
}

size_t SentencePieceNormalizer::longest_rule(std::string_view input, std::string_view& replacement) const {
  // Darts-clone unit: bit 8 has_leaf, bits 0-30 value (leaf units), label = unit & (bit 31 | 0xFF),
  // offset = (unit >> 10) << ((unit & bit 9) >> 6).
  auto offset = [](uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); };
  size_t best = 0;
  size_t node = 0;
  node ^= offset(trie_[0]);
  for (size_t i = 0; i < input.size(); ++i) {
    const auto c = static_cast<unsigned char>(input[i]);
    node ^= c;
    if (node >= trie_.size()) break;
    const uint32_t unit = trie_[node];
    if ((unit & ((1u << 31) | 0xFF)) != c) break;
    node ^= offset(unit);
    if (node >= trie_.size()) break;
    if ((unit >> 8) & 1) {
      const uint32_t value = trie_[node] & ((1u << 31) - 1);
      ROTOR_CHECK(value < replacements_.size(), "sentencepiece: charsmap replacement offset ", value,
                  " is outside its ", replacements_.size(), " bytes");
      const char* s = replacements_.data() + value;
      replacement = std::string_view(s, strnlen(s, replacements_.size() - value));
      best = i + 1;
    }
  }
  return best;
}

std::pair<std::string_view, size_t> SentencePieceNormalizer::normalize_prefix(std::string_view input) const {
  size_t user = 0;
  for (const auto& symbol : user_defined_)
    if (symbol.size() > user && input.substr(0, symbol.size()) == symbol) user = symbol.size();
  if (user > 0) return {input.substr(0, user), user};
  std::string_view replacement;
  if (!trie_.empty()) {
    if (const size_t length = longest_rule(input, replacement); length > 0) return {replacement, length};
  }
  const size_t length = utf8_char_length(input);
  if (length == 0) return {"\xEF\xBF\xBD", 1};  // an invalid byte becomes U+FFFD
  return {input.substr(0, length), length};
}

std::string SentencePieceNormalizer::normalize(std::string_view input) const {
  if (remove_extra_whitespaces_) {
    while (!input.empty()) {
      const auto [text, consumed] = normalize_prefix(input);
      if (text != " ") break;
      input.remove_prefix(consumed);
    }
  }
  std::string out;
  if (input.empty()) return out;
  const std::string_view space = escape_whitespaces_ ? kSpaceSymbol : std::string_view(" ");
  if (add_dummy_prefix_ && !whitespace_as_suffix_) out += space;
  bool previous_space = remove_extra_whitespaces_;
  while (!input.empty()) {
    auto [text, consumed] = normalize_prefix(input);
    if (previous_space)
      while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    if (!text.empty()) {
      for (char c : text) {
        if (c == ' ') out += space;
        else out += c;
      }
      previous_space = text.back() == ' ';
    }
    input.remove_prefix(consumed);
    if (!remove_extra_whitespaces_) previous_space = false;
  }
  if (remove_extra_whitespaces_)
    while (out.size() >= space.size() && out.compare(out.size() - space.size(), space.size(), space) == 0)
      out.resize(out.size() - space.size());
  if (add_dummy_prefix_ && whitespace_as_suffix_) out += space;
  return out;
}

}  // namespace rotor::text
