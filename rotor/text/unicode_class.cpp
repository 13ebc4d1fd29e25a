#include "rotor/text/unicode_class.h"

#include <unicode/uchar.h>

#include <array>
#include <cstring>

namespace rotor::text {

namespace {

uint8_t class_from_icu(uint32_t cp) {
  const UChar32 c = static_cast<UChar32>(cp);
  uint8_t bits = 0;
  if (u_isUWhiteSpace(c)) bits |= kSpace;
  if (cp == '\r' || cp == '\n') bits |= kNewline;
  switch (u_charType(c)) {
    case U_UPPERCASE_LETTER:
    case U_TITLECASE_LETTER: bits |= kLetter | kUpperish; break;
    case U_LOWERCASE_LETTER: bits |= kLetter | kLowerish; break;
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER: bits |= kLetter | kUpperish | kLowerish; break;
    case U_NON_SPACING_MARK:
    case U_ENCLOSING_MARK:
    case U_COMBINING_SPACING_MARK: bits |= kMark | kUpperish | kLowerish; break;
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER: bits |= kNumber; break;
    default: break;
  }
  return bits;
}

struct BmpTable {
  std::array<uint8_t, 0x10000> classes;
  BmpTable() {
    for (uint32_t cp = 0; cp < 0x10000; ++cp) classes[cp] = class_from_icu(cp);
  }
};

const BmpTable& bmp_table() {
  static const BmpTable table;  // built once, read-only afterwards
  return table;
}

}  // namespace

const uint8_t kAsciiClass[128] = {
#define S kSpace
#define SN (kSpace | kNewline)
#define U (kLetter | kUpperish)
#define L (kLetter | kLowerish)
#define D kNumber
    0, 0, 0, 0, 0, 0, 0, 0, 0, S, SN, S, S, SN, 0, 0,  // 0x00
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,  0, 0,  // 0x10
    S, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,  0, 0,  // 0x20
    D, D, D, D, D, D, D, D, D, D, 0,  0, 0, 0,  0, 0,  // 0x30
    0, U, U, U, U, U, U, U, U, U, U,  U, U, U,  U, U,  // 0x40
    U, U, U, U, U, U, U, U, U, U, U,  0, 0, 0,  0, 0,  // 0x50
    0, L, L, L, L, L, L, L, L, L, L,  L, L, L,  L, L,  // 0x60
    L, L, L, L, L, L, L, L, L, L, L,  0, 0, 0,  0, 0,  // 0x70
#undef S
#undef SN
#undef U
#undef L
#undef D
};

uint8_t char_class(uint32_t code_point) {
  if (code_point < 0x80) return kAsciiClass[code_point];
  if (code_point < 0x10000) return bmp_table().classes[code_point];
  return class_from_icu(code_point);
}

size_t find_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // Skip ASCII eight bytes at a time.
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) { i += 8; continue; }
    }
    const unsigned c = s[i];
    if (c < 0x80) { ++i; continue; }
    unsigned length;
    uint32_t min_value;
    if (c >= 0xC2 && c <= 0xDF) { length = 2; min_value = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { length = 3; min_value = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { length = 4; min_value = 0x10000; }
    else return i;
    if (i + length > n) return i;
    for (unsigned k = 1; k < length; ++k)
      if ((s[i + k] & 0xC0) != 0x80) return i;
    unsigned decoded_length;
    const uint32_t cp = decode_utf8(s + i, decoded_length);
    if (cp < min_value || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += length;
  }
  return n;
}

}  // namespace rotor::text
