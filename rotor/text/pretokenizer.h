#pragma once
// Pre-tokenization: splits text into the pieces that tiktoken's regular expressions match, one
// hand-written matcher per pattern family, linear in the text length (no backtracking engine).
//
//   gpt2 (r50k_base, p50k_base): 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   cl100k_base: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
//                |\s*[\r\n]+|\s+(?!\S)|\s+
//   o200k_base:  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...|'d)?
//                |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...|'d)?
//                |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// The regexes are leftmost-first (the first alternative that matches wins) and matching resumes where
// the previous piece ended, so every byte of the text belongs to exactly one piece.
#include <cstddef>
#include <string>
#include <string_view>

namespace rotor::text {

enum class SplitPattern { kGpt2, kCl100k, kO200k };

// "gpt2" (also "r50k", "p50k"), "cl100k", "o200k"; throws rotor::Error for anything else.
SplitPattern parse_split_pattern(std::string_view name);
std::string split_pattern_name(SplitPattern pattern);

// Fills piece_ends with the end offsets of up to `capacity` pieces of text, starting at offset `pos`
// (which must be a piece boundary). Returns how many were written. The text must be valid UTF-8.
size_t split_pieces(SplitPattern pattern, std::string_view text, size_t pos, size_t* piece_ends,
                    size_t capacity);

// True when offset p (0 < p < size) is a piece boundary that does not depend on the text before or
// after it: the text can be cut there and each side pre-tokenized alone with the same result. Used to
// split large inputs between threads. (An ASCII letter followed by a space qualifies for all patterns.)
inline bool is_independent_boundary(std::string_view text, size_t p) {
  const unsigned char before = static_cast<unsigned char>(text[p - 1]);
  return text[p] == ' ' && ((before | 0x20) >= 'a' && (before | 0x20) <= 'z');
}

}  // namespace rotor::text
