// Pre-tokenizer properties: pieces tile the text, independent boundaries really are independent, and
// long inputs without spaces are handled in linear time (the merge of one huge piece included).
#include <gtest/gtest.h>


#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/text/pretokenizer.h"
#include "rotor/text/unicode_class.h"
#include "tests/text/text_test_util.h"

namespace rotor::text {
namespace {

std::vector<size_t> pieces(SplitPattern pattern, std::string_view text) {
  std::vector<size_t> ends(text.size() + 1);
  const size_t count = split_pieces(pattern, text, 0, ends.data(), ends.size());
  ends.resize(count);
  return ends;
}

const SplitPattern kPatterns[] = {SplitPattern::kGpt2, SplitPattern::kCl100k, SplitPattern::kO200k};

std::string random_text(uint64_t seed, size_t n) {
  const char* const pool[] = {"a", "B", " ", " ", "  ", "\n", "\r\n", "'s", "'T", "1", "23", ".", "/", "é",
                              "\u0301", "中", "😀", "\u00a0", "\t", "x", "Ab", "ab", "AB"};
  std::string text;
  uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  while (text.size() < n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    text += pool[(state >> 33) % (sizeof pool / sizeof pool[0])];
  }
  return text;
}

TEST(PreTokenizer, PiecesTileTheTextAndEndOnCharacterBoundaries) {
  for (auto pattern : kPatterns) {
    for (uint64_t seed = 0; seed < 50; ++seed) {
      const std::string text = random_text(seed, 200);
      const auto ends = pieces(pattern, text);
      ASSERT_FALSE(ends.empty());
      EXPECT_EQ(ends.back(), text.size());
      size_t previous = 0;
      for (size_t end : ends) {
        EXPECT_GT(end, previous);
        EXPECT_TRUE(end == text.size() || (static_cast<unsigned char>(text[end]) & 0xC0) != 0x80);
        previous = end;
      }
    }
  }
}

TEST(PreTokenizer, IndependentBoundariesSplitTheSameWay) {
  for (auto pattern : kPatterns) {
    for (uint64_t seed = 100; seed < 150; ++seed) {
      const std::string text = random_text(seed, 300);
      const auto whole = pieces(pattern, text);
      int checked = 0;
      for (size_t p = 1; p < text.size(); ++p) {
        if (!is_independent_boundary(text, p)) continue;
        ++checked;
        EXPECT_TRUE(std::find(whole.begin(), whole.end(), p) != whole.end()) << "boundary " << p;
        auto left = pieces(pattern, std::string_view(text).substr(0, p));
        auto right = pieces(pattern, std::string_view(text).substr(p));
        for (auto& e : right) e += p;
        left.insert(left.end(), right.begin(), right.end());
        EXPECT_EQ(left, whole) << split_pattern_name(pattern) << " cut at " << p;
      }
      EXPECT_GT(checked, 0);
    }
  }
}

TEST(PreTokenizer, RejectsUnknownPatternNames) {
  EXPECT_EQ(parse_split_pattern("cl100k"), SplitPattern::kCl100k);
  EXPECT_THROW(parse_split_pattern("llama"), Error);
}

TEST(Utf8, FindsTheFirstInvalidByte) {
  const std::string ascii = "plain ascii text, long enough to use the fast path";
  EXPECT_EQ(find_invalid_utf8(ascii), ascii.size());
  EXPECT_EQ(find_invalid_utf8("ok \xC3\xA9 ok"), 8u);
  EXPECT_EQ(find_invalid_utf8(ascii + "\xC3"), ascii.size());
  EXPECT_EQ(find_invalid_utf8("ab\xFF"), 2u);
  EXPECT_EQ(find_invalid_utf8("ab\xC0\xAF"), 2u);          // overlong '/'
  EXPECT_EQ(find_invalid_utf8("ab\xED\xA0\x80"), 2u);      // surrogate
  EXPECT_EQ(find_invalid_utf8("ab\xF4\x90\x80\x80"), 2u);  // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("ab\xE2\x82"), 2u);          // truncated
}

TEST(UnicodeClass, FollowsIcuCategories) {
  EXPECT_TRUE(char_class(0x00E9) & kLetter);      // é
  EXPECT_TRUE(char_class(0x0301) & kMark);        // combining acute
  EXPECT_FALSE(char_class(0x0301) & kLetter);
  EXPECT_TRUE(char_class(0x0663) & kNumber);      // Arabic-Indic three
  EXPECT_TRUE(char_class(0x3000) & kSpace);       // ideographic space
  EXPECT_TRUE(char_class(0x1D400) & kUpperish);   // mathematical bold A
  EXPECT_FALSE(char_class(0x1F600) & (kLetter | kNumber | kSpace));  // emoji
}

// tiktoken's merge rule written the plain quadratic way, as an independent check of both merge paths.
std::vector<uint32_t> naive_merge(const TokenTable& table, std::string_view piece) {
  std::vector<std::string> parts;
  for (char c : piece) parts.emplace_back(1, c);
  for (;;) {
    uint32_t best = kNoRank;
    size_t at = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      const uint32_t rank = table.find(parts[i] + parts[i + 1]);
      if (rank < best) best = rank, at = i;
    }
    if (best == kNoRank) break;
    parts[at] += parts[at + 1];
    parts.erase(parts.begin() + at + 1);
  }
  std::vector<uint32_t> ids;
  for (const auto& part : parts) ids.push_back(table.find(part));
  return ids;
}

TEST(BytePairEncoding, MergeMatchesTheNaiveRuleOnShortAndLongPieces) {
  for (const char* name : {"cl100k_base", "o200k_base", "gpt2"}) {
    const auto& bpe = testing::encoding(name);
    uint64_t state = 7;
    for (int trial = 0; trial < 60; ++trial) {
      const char alphabet[] = "aabbeenrst  ";
      // Both merge paths, and the 127/128/129-byte edge between them.
      const size_t n = trial < 30 ? 3 + trial * 4 : trial < 33 ? 97 + trial : 129 + trial * 20;
      std::string piece;
      for (size_t i = 0; i < n; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        piece += alphabet[(state >> 33) % (sizeof alphabet - 1)];
      }
      std::vector<uint32_t> ids;
      bpe.encode_piece(piece, ids);
      const bool whole = bpe.table().find(piece) != kNoRank;
      EXPECT_EQ(ids, whole ? std::vector<uint32_t>{bpe.table().find(piece)} : naive_merge(bpe.table(), piece))
          << name << " piece of " << n << " bytes";
    }
  }
}

TEST(BytePairEncoding, LongInputsWithoutSpacesEncodeAndRoundTrip) {
  // Quarter-megabyte single pieces (letters, spaces, marks, CJK) and digit runs: linear
  // pre-tokenization and the heap merge keep these fast; the result must round-trip.
  for (const char* name : {"cl100k_base", "o200k_base", "gpt2"}) {
    const auto& bpe = testing::encoding(name);
    for (const std::string unit : {"ab", "7", " ", "\u0301", "\xE4\xB8\xAD"}) {
      std::string text;
      while (text.size() < (1 << 18)) text += unit;
      const auto ids = bpe.encode(text, SpecialMode::kError, 1);
      EXPECT_EQ(bpe.decode(ids), text) << name;
    }
  }
}

TEST(BytePairEncoding, RejectsInvalidUtf8AndUnknownIds) {
  const auto& bpe = testing::encoding("cl100k_base");
  try {
    bpe.encode("abc\xFF" "def", SpecialMode::kError);
    FAIL() << "invalid UTF-8 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset 3"), std::string::npos) << e.what();
  }
  const std::vector<uint32_t> bad = {100, 100256};  // 100256 is a gap between ranks and specials
  EXPECT_THROW(bpe.decode(bad), Error);
  const std::vector<uint32_t> special = {100257};
  EXPECT_EQ(bpe.decode(special), "<|endoftext|>");
}

}  // namespace
}  // namespace rotor::text
