#pragma once
// Unicode character classes used by the pre-tokenizer regexes of tiktoken's encodings, taken from ICU
// (general category and the White_Space property). A table covers the Basic Multilingual Plane;
// other code points ask ICU directly.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rotor::text {

// Bits of a character class. "Other" (tiktoken's [^\s\p{L}\p{N}]) is none of kSpace, kLetter, kNumber.
enum CharClass : uint8_t {
  kSpace = 1,        // \s: White_Space
  kLetter = 2,       // \p{L}
  kNumber = 4,       // \p{N}
  kUpperish = 8,     // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] (o200k)
  kLowerish = 16,    // [\p{Ll}\p{Lm}\p{Lo}\p{M}] (o200k)
  kNewline = 32,     // \r or \n
  kMark = 64,        // \p{M}
};

// Class of a code point (any value up to 0x10FFFF).
uint8_t char_class(uint32_t code_point);

// Class bits of the 128 ASCII characters, for the fast path.
extern const uint8_t kAsciiClass[128];

// Decodes one UTF-8 character of valid UTF-8 at s (the caller has validated the text).
inline uint32_t decode_utf8(const unsigned char* s, unsigned& length) {
  const unsigned c = s[0];
  if (c < 0x80) { length = 1; return c; }
  if (c < 0xE0) { length = 2; return ((c & 0x1F) << 6) | (s[1] & 0x3F); }
  if (c < 0xF0) { length = 3; return ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F); }
  length = 4;
  return ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

// Offset of the first byte that is not part of valid UTF-8 (overlong forms, surrogates and code points
// above 0x10FFFF are invalid), or text.size() when the whole text is valid.
size_t find_invalid_utf8(std::string_view text);

}  // namespace rotor::text
