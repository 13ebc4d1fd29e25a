#include "rotor/text/rank_file.h"

#include <unordered_map>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::text {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) out += c;
    else out += cat("\\x", "0123456789abcdef"[u >> 4], "0123456789abcdef"[u & 15]);
  }
  if (text.size() > 40) out += "...";
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& bytes) {
  bytes.clear();
  if (text.size() % 4 != 0) return false;
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int padding = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++padding;
        continue;
      }
      if (padding > 0) return false;  // data after '='
      v[k] = base64_value(c);
      if (v[k] < 0) return false;
    }
    const uint32_t word = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    // Canonical form: the bits dropped by padding must be zero.
    if ((padding == 1 && (word & 0xFF)) || (padding == 2 && (word & 0xFFFF))) return false;
    bytes += static_cast<char>(word >> 16);
    if (padding < 2) bytes += static_cast<char>((word >> 8) & 0xFF);
    if (padding < 1) bytes += static_cast<char>(word & 0xFF);
  }
  return true;
}

std::vector<RankedToken> parse_tiktoken_ranks(std::string_view contents, const std::string& source) {
  std::vector<RankedToken> tokens;
  std::unordered_map<std::string_view, size_t> line_of_token;
  std::unordered_map<uint32_t, size_t> line_of_rank;
  size_t pos = 0, line = 0;
  while (pos < contents.size()) {
    ++line;
    size_t end = contents.find('\n', pos);
    if (end == std::string_view::npos) end = contents.size();
    std::string_view text = contents.substr(pos, end - pos);
    pos = end + 1;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    const size_t space = text.find(' ');
    ROTOR_CHECK(space != std::string_view::npos, source, ":", line, ": expected '<base64> <rank>', got '",
                printable(text), "'");
    const std::string_view encoded = text.substr(0, space), rank_text = text.substr(space + 1);
    RankedToken token;
    ROTOR_CHECK(!encoded.empty(), source, ":", line, ": empty token");
    ROTOR_CHECK(base64_decode(encoded, token.bytes), source, ":", line, ": malformed base64 '",
                printable(encoded), "'");
    ROTOR_CHECK(!rank_text.empty() && rank_text.size() <= 9 &&
                    rank_text.find_first_not_of("0123456789") == std::string_view::npos,
                source, ":", line, ": rank '", printable(rank_text), "' is not a number below ", kMaxRank);
    token.rank = static_cast<uint32_t>(std::stoul(std::string(rank_text)));
    ROTOR_CHECK(token.rank < kMaxRank, source, ":", line, ": rank ", token.rank, " is not below ", kMaxRank);
    if (auto [it, fresh] = line_of_rank.emplace(token.rank, line); !fresh)
      throw Error(cat(source, ":", line, ": rank ", token.rank, " repeats line ", it->second));
    tokens.push_back(std::move(token));
  }
  ROTOR_CHECK(!tokens.empty(), source, ": no tokens");
  line_of_token.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (auto [it, fresh] = line_of_token.emplace(tokens[i].bytes, i + 1); !fresh)
      throw Error(cat(source, ": token '", printable(tokens[i].bytes), "' (rank ", tokens[i].rank,
                      ") repeats the token of rank ", tokens[it->second - 1].rank));
  }
  return tokens;
}

std::vector<RankedToken> load_tiktoken_ranks(const std::string& path) {
  return parse_tiktoken_ranks(io::read_file(path), path);
}

std::string format_tiktoken_ranks(const std::vector<RankedToken>& tokens) {
  std::string out;
  for (const auto& token : tokens) {
    out += base64_encode(token.bytes);
    out += ' ';
    out += std::to_string(token.rank);
    out += '\n';
  }
  return out;
}

}  // namespace rotor::text
