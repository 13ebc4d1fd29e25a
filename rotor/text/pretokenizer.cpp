#include "rotor/text/pretokenizer.h"

#include "rotor/core/error.h"
#include "rotor/text/unicode_class.h"

namespace rotor::text {

namespace {

using Byte = unsigned char;
constexpr size_t kNoMatch = static_cast<size_t>(-1);
constexpr uint8_t kWord = kSpace | kLetter | kNumber;  // "other" is a class with none of these bits

// Class of the character at s[i] (i < n); sets its length in bytes.
inline uint8_t class_at(const Byte* s, size_t i, unsigned& length) {
  const unsigned c = s[i];
  if (c < 0x80) {
    length = 1;
    return kAsciiClass[c];
  }
  return char_class(decode_utf8(s + i, length));
}

// End of the run of characters whose class has any bit of `mask`, starting at i.
inline size_t run_end(const Byte* s, size_t i, size_t n, uint8_t mask) {
  while (i < n) {
    if (s[i] < 0x80) {
      if (!(kAsciiClass[s[i]] & mask)) break;
      ++i;
      continue;
    }
    unsigned length;
    if (!(class_at(s, i, length) & mask)) break;
    i += length;
  }
  return i;
}

// End of a run of [^\s\p{L}\p{N}].
inline size_t other_run_end(const Byte* s, size_t i, size_t n) {
  while (i < n) {
    unsigned length;
    if (class_at(s, i, length) & kWord) break;
    i += length;
  }
  return i;
}

// End of at most three \p{N} characters.
inline size_t digits_end(const Byte* s, size_t i, size_t n) {
  for (int k = 0; k < 3 && i < n; ++k) {
    unsigned length;
    if (!(class_at(s, i, length) & kNumber)) break;
    i += length;
  }
  return i;
}

inline size_t newline_run_end(const Byte* s, size_t i, size_t n, bool with_slash) {
  while (i < n && (s[i] == '\r' || s[i] == '\n' || (with_slash && s[i] == '/'))) ++i;
  return i;
}

// 's|'t|'re|'ve|'m|'ll|'d at s[i] == '\''; case-insensitive matching also takes the uppercase letters
// and U+017F (long s), which simple case folding maps to 's'. Returns the length or 0.
inline size_t contraction_length(const Byte* s, size_t i, size_t n, bool ignore_case) {
  if (i + 1 >= n || s[i] != '\'') return 0;
  Byte a = s[i + 1];
  if (ignore_case) {
    if (a == 0xC5 && i + 2 < n && s[i + 2] == 0xBF) return 3;  // 'ſ
    if (a >= 'A' && a <= 'Z') a |= 0x20;
  }
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= n) return 0;
  Byte b = s[i + 2];
  if (ignore_case && b >= 'A' && b <= 'Z') b |= 0x20;
  if (((a == 'r' || a == 'v') && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// Whitespace at s[i]: \s*[\r\n]+ (when newline_rule), then \s+(?!\S), then \s+.
inline size_t whitespace_end(const Byte* s, size_t i, size_t n, bool newline_rule) {
  size_t j = i, last_start = i, last_newline_end = kNoMatch;
  int count = 0;
  while (j < n) {
    unsigned length;
    const uint8_t c = class_at(s, j, length);
    if (!(c & kSpace)) break;
    if (c & kNewline) last_newline_end = j + length;
    last_start = j;
    j += length;
    ++count;
  }
  if (newline_rule && last_newline_end != kNoMatch) return last_newline_end;
  if (j == n) return j;              // \s+(?!\S) at the end of the text
  if (count >= 2) return last_start;  // leave the last space for the next piece
  return j;                          // \s+
}

size_t gpt2_piece_end(const Byte* s, size_t i, size_t n) {
  if (s[i] == '\'') {
    if (size_t m = contraction_length(s, i, n, false)) return i + m;
  }
  unsigned length;
  uint8_t c = class_at(s, i, length);
  size_t p = i;
  if (s[i] == ' ' && i + 1 < n) {
    unsigned next_length;
    const uint8_t next = class_at(s, i + 1, next_length);
    if (!(next & kSpace)) {
      c = next;
      length = next_length;
      p = i + 1;
    }
  }
  if (c & kLetter) return run_end(s, p + length, n, kLetter);
  if (c & kNumber) return run_end(s, p + length, n, kNumber);
  if (!(c & kSpace)) return other_run_end(s, p + length, n);
  return whitespace_end(s, i, n, false);
}

size_t cl100k_piece_end(const Byte* s, size_t i, size_t n) {
  if (s[i] == '\'') {
    if (size_t m = contraction_length(s, i, n, true)) return i + m;
  }
  unsigned length;
  const uint8_t c = class_at(s, i, length);
  if (c & kLetter) return run_end(s, i + length, n, kLetter);
  if (c & kNumber) return digits_end(s, i, n);
  // [^\r\n\p{L}\p{N}]\p{L}+
  if (!(c & kNewline) && i + length < n) {
    unsigned next_length;
    if (class_at(s, i + length, next_length) & kLetter)
      return run_end(s, i + length + next_length, n, kLetter);
  }
  // ?[^\s\p{L}\p{N}]+[\r\n]*
  if (!(c & kWord)) return newline_run_end(s, other_run_end(s, i + length, n), n, false);
  if (s[i] == ' ' && i + 1 < n) {
    unsigned next_length;
    if (!(class_at(s, i + 1, next_length) & kWord))
      return newline_run_end(s, other_run_end(s, i + 1 + next_length, n), n, false);
  }
  return whitespace_end(s, i, n, true);
}

// o200k: [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ from p, then the optional
// contraction. The greedy upper run gives back characters until the lower part can match.
inline size_t o200k_lower_word_unicode(const Byte* s, size_t p, size_t n);

inline bool ascii_upper(Byte c) { return static_cast<unsigned>(c - 'A') < 26u; }
inline bool ascii_lower(Byte c) { return static_cast<unsigned>(c - 'a') < 26u; }

inline size_t o200k_lower_word(const Byte* s, size_t p, size_t n) {
  // ASCII fast path: [A-Z]*[a-z]+ ending before an ASCII non-letter or the end of the text. Anything
  // else (a non-ASCII character inside or right after the word) takes the general path.
  size_t j = p;
  while (j < n && ascii_upper(s[j])) ++j;
  if (j < n && ascii_lower(s[j])) {
    size_t k = j + 1;
    while (k < n && ascii_lower(s[k])) ++k;
    if (k == n || s[k] < 0x80) return k + contraction_length(s, k, n, true);
  } else if (j == n || s[j] < 0x80) {
    return kNoMatch;  // only uppercase ASCII letters (or none): no lowercase part
  }
  return o200k_lower_word_unicode(s, p, n);
}

inline size_t o200k_lower_word_unicode(const Byte* s, size_t p, size_t n) {
  size_t j = p, last_lowerish_end = kNoMatch;
  while (j < n) {
    unsigned length;
    const uint8_t c = class_at(s, j, length);
    if (!(c & kUpperish)) break;
    if (c & kLowerish) last_lowerish_end = j + length;
    j += length;
  }
  size_t end;
  unsigned length;
  if (j < n && (class_at(s, j, length) & kLowerish)) {
    end = run_end(s, j + length, n, kLowerish);
  } else if (last_lowerish_end != kNoMatch) {
    end = last_lowerish_end;
  } else {
    return kNoMatch;
  }
  return end + contraction_length(s, end, n, true);
}

// o200k: [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]* from p, then the contraction.
inline size_t o200k_upper_word(const Byte* s, size_t p, size_t n) {
  unsigned length;
  if (p >= n || !(class_at(s, p, length) & kUpperish)) return kNoMatch;
  const size_t end = run_end(s, run_end(s, p + length, n, kUpperish), n, kLowerish);
  return end + contraction_length(s, end, n, true);
}

size_t o200k_piece_end(const Byte* s, size_t i, size_t n) {
  unsigned length;
  const uint8_t c = class_at(s, i, length);
  const bool prefix_allowed = !(c & (kNewline | kLetter | kNumber)) && i + length < n;
  size_t end;
  if (prefix_allowed && (end = o200k_lower_word(s, i + length, n)) != kNoMatch) return end;
  if ((end = o200k_lower_word(s, i, n)) != kNoMatch) return end;
  if (prefix_allowed && (end = o200k_upper_word(s, i + length, n)) != kNoMatch) return end;
  if ((end = o200k_upper_word(s, i, n)) != kNoMatch) return end;
  if (c & kNumber) return digits_end(s, i, n);
  // ?[^\s\p{L}\p{N}]+[\r\n/]*
  if (s[i] == ' ' && i + 1 < n) {
    unsigned next_length;
    if (!(class_at(s, i + 1, next_length) & kWord))
      return newline_run_end(s, other_run_end(s, i + 1 + next_length, n), n, true);
  }
  if (!(c & kWord)) return newline_run_end(s, other_run_end(s, i + length, n), n, true);
  return whitespace_end(s, i, n, true);
}

template <size_t (*piece_end)(const Byte*, size_t, size_t)>
size_t split_with(std::string_view text, size_t pos, size_t* ends, size_t capacity) {
  const auto* s = reinterpret_cast<const Byte*>(text.data());
  const size_t n = text.size();
  size_t count = 0;
  while (pos < n && count < capacity) {
    pos = piece_end(s, pos, n);
    ends[count++] = pos;
  }
  return count;
}

}  // namespace

SplitPattern parse_split_pattern(std::string_view name) {
  if (name == "gpt2" || name == "r50k" || name == "p50k" || name == "r50k_base" || name == "p50k_base")
    return SplitPattern::kGpt2;
  if (name == "cl100k" || name == "cl100k_base") return SplitPattern::kCl100k;
  if (name == "o200k" || name == "o200k_base") return SplitPattern::kO200k;
  throw Error(cat("unknown pre-tokenization pattern '", name, "' (expected gpt2, cl100k or o200k)"));
}

std::string split_pattern_name(SplitPattern pattern) {
  switch (pattern) {
    case SplitPattern::kGpt2: return "gpt2";
    case SplitPattern::kCl100k: return "cl100k";
    case SplitPattern::kO200k: return "o200k";
  }
  return "?";
}

size_t split_pieces(SplitPattern pattern, std::string_view text, size_t pos, size_t* piece_ends,
                    size_t capacity) {
  switch (pattern) {
    case SplitPattern::kGpt2: return split_with<gpt2_piece_end>(text, pos, piece_ends, capacity);
    case SplitPattern::kCl100k: return split_with<cl100k_piece_end>(text, pos, piece_ends, capacity);
    case SplitPattern::kO200k: return split_with<o200k_piece_end>(text, pos, piece_ends, capacity);
  }
  return 0;
}

}  // namespace rotor::text
