#include "rotor/text/rank_file.h"

#include <algorithm>
#include <cstring>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/text/token_table.h"

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
  bytes.reserve(text.size() / 4 * 3);
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
  std::vector<uint32_t> line_of;  // line number of each token
  tokens.reserve(contents.size() / 12 + 1);
  size_t pos = 0, line = 0;
  while (pos < contents.size()) {
    ++line;
    const void* newline = std::memchr(contents.data() + pos, '\n', contents.size() - pos);
    const size_t end = newline ? static_cast<const char*>(newline) - contents.data() : contents.size();
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
    uint64_t rank = 0;
    bool ok = !rank_text.empty() && rank_text.size() <= 9;
    for (char c : rank_text) {
      if (c < '0' || c > '9') ok = false;
      rank = rank * 10 + static_cast<unsigned>(c - '0');
    }
    ROTOR_CHECK(ok, source, ":", line, ": rank '", printable(rank_text), "' is not a number below ", kMaxRank);
    ROTOR_CHECK(rank < kMaxRank, source, ":", line, ": rank ", rank, " is not below ", kMaxRank);
    token.rank = static_cast<uint32_t>(rank);
    tokens.push_back(std::move(token));
    line_of.push_back(static_cast<uint32_t>(line));
  }
  ROTOR_CHECK(!tokens.empty(), source, ": no tokens");
  // Repeated ranks: sort (rank, index) pairs and compare neighbours.
  std::vector<uint64_t> by_rank(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) by_rank[i] = (uint64_t(tokens[i].rank) << 32) | i;
  std::sort(by_rank.begin(), by_rank.end());
  for (size_t k = 1; k < by_rank.size(); ++k) {
    if ((by_rank[k] >> 32) == (by_rank[k - 1] >> 32))
      throw Error(cat(source, ":", line_of[uint32_t(by_rank[k])], ": rank ", by_rank[k] >> 32, " repeats line ",
                      line_of[uint32_t(by_rank[k - 1])]));
  }
  // Repeated tokens: an open-addressing set of token indices.
  size_t capacity = 1024;
  while (capacity < 2 * tokens.size()) capacity *= 2;
  std::vector<uint32_t> set(capacity, 0xFFFFFFFFu);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto* p = reinterpret_cast<const unsigned char*>(tokens[i].bytes.data());
    const size_t n = tokens[i].bytes.size();
    size_t slot = hash_bytes(p, n, head_bytes(p, n)) & (capacity - 1);
    for (; set[slot] != 0xFFFFFFFFu; slot = (slot + 1) & (capacity - 1)) {
      if (tokens[set[slot]].bytes == tokens[i].bytes)
        throw Error(cat(source, ":", line_of[i], ": token '", printable(tokens[i].bytes), "' repeats line ",
                        line_of[set[slot]]));
    }
    set[slot] = static_cast<uint32_t>(i);
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
