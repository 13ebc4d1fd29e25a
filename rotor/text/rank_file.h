#pragma once
// tiktoken rank files (.tiktoken): one token per line, "<base64 of the token bytes> <rank>".
// Reading is strict: malformed base64, an empty token, a missing or non-numeric rank, a repeated rank
// or a repeated token is an error naming the file and line.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rotor::text {

struct RankedToken {
  std::string bytes;
  uint32_t rank;
};

// Ranks at or above this are rejected (real vocabularies have a few hundred thousand tokens).
constexpr uint32_t kMaxRank = 1u << 24;

std::vector<RankedToken> parse_tiktoken_ranks(std::string_view contents, const std::string& source);
std::vector<RankedToken> load_tiktoken_ranks(const std::string& path);
// The file contents for the given tokens, in the order given.
std::string format_tiktoken_ranks(const std::vector<RankedToken>& tokens);

std::string base64_encode(std::string_view bytes);
// Decodes padded standard base64; returns false on any malformed input.
bool base64_decode(std::string_view text, std::string& bytes);

}  // namespace rotor::text
