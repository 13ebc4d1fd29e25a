// The tiktoken rank-file reader: base64 round trips and strict errors for malformed files.
#include <gtest/gtest.h>

#include "rotor/core/error.h"
#include "rotor/text/rank_file.h"
#include "rotor/text/token_table.h"

namespace rotor::text {
namespace {

std::string error_of(const std::string& contents) {
  try {
    parse_tiktoken_ranks(contents, "test.tiktoken");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int n = 0; n < 300; ++n) {
    std::string decoded;
    const std::string encoded = base64_encode(bytes);
    EXPECT_EQ(encoded.size() % 4, 0u);
    ASSERT_TRUE(base64_decode(encoded, decoded)) << encoded;
    EXPECT_EQ(decoded, bytes);
    bytes += static_cast<char>((n * 37 + 11) & 255);
  }
  std::string out;
  EXPECT_TRUE(base64_decode("aGVsbG8=", out));
  EXPECT_EQ(out, "hello");
}

TEST(Base64, RejectsMalformedInput) {
  std::string out;
  for (const char* bad : {"aGVsbG8", "aGVs*G8=", "a===", "aG=v", "aGVsbG9=", "aGVsbA=x", "====", "aGk"})
    EXPECT_FALSE(base64_decode(bad, out)) << bad;
}

TEST(RankFile, ParsesLinesInOrder) {
  const auto tokens = parse_tiktoken_ranks("YQ== 0\nYg== 1\r\nYWI= 2\n", "t");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[2].bytes, "ab");
  EXPECT_EQ(tokens[2].rank, 2u);
  EXPECT_EQ(format_tiktoken_ranks(tokens), "YQ== 0\nYg== 1\nYWI= 2\n");
}

TEST(RankFile, ErrorsNameTheLineAndValue) {
  EXPECT_NE(error_of("YQ== 0\nYg==* 1\n").find("test.tiktoken:2: malformed base64"), std::string::npos);
  EXPECT_NE(error_of("YQ== 0\nYg== 0\n").find("test.tiktoken:2: rank 0 repeats line 1"), std::string::npos);
  EXPECT_NE(error_of("YQ== 0\nYQ== 1\n").find("test.tiktoken:2: token 'a' repeats line 1"), std::string::npos);
  EXPECT_NE(error_of("YQ== x1\n").find("rank 'x1' is not a number"), std::string::npos);
  EXPECT_NE(error_of("YQ== -1\n").find("is not a number"), std::string::npos);
  EXPECT_NE(error_of("YQ==\n").find("expected '<base64> <rank>'"), std::string::npos);
  EXPECT_NE(error_of("YQ== 0\n\nYg== 1\n").find("test.tiktoken:2:"), std::string::npos);
  EXPECT_NE(error_of(" 0\n").find("empty token"), std::string::npos);
  EXPECT_NE(error_of("YQ== 99999999\n").find("is not below"), std::string::npos);
  EXPECT_NE(error_of("").find("no tokens"), std::string::npos);
}

TEST(TokenTable, RequiresAllSingleBytes) {
  std::vector<RankedToken> tokens;
  for (int b = 0; b < 255; ++b) tokens.push_back({std::string(1, char(b)), uint32_t(b)});
  EXPECT_THROW(TokenTable{tokens}, Error);
  tokens.push_back({std::string(1, char(255)), 255});
  tokens.push_back({"ab", 256});
  const TokenTable table(tokens);
  EXPECT_EQ(table.find("ab"), 256u);
  EXPECT_EQ(table.find("ba"), kNoRank);
  EXPECT_EQ(table.pair_rank('a', 'b'), 256u);
  EXPECT_EQ(table.byte_rank(200), 200u);
}

TEST(TokenTable, FindsLongTokensAndRejectsNearMisses) {
  std::vector<RankedToken> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back({std::string(1, char(b)), uint32_t(b)});
  const std::string long_token = "a fairly long token of many bytes";
  tokens.push_back({long_token, 300});
  tokens.push_back({"12345678", 301});
  const TokenTable table(tokens);
  EXPECT_EQ(table.find(long_token), 300u);
  std::string near = long_token;
  near.back() = 'X';
  EXPECT_EQ(table.find(near), kNoRank);
  EXPECT_EQ(table.find("12345678"), 301u);
  EXPECT_EQ(table.find("1234567"), kNoRank);
  EXPECT_FALSE(table.contains(256));
  EXPECT_EQ(table.rank_limit(), 302u);
}

}  // namespace
}  // namespace rotor::text
