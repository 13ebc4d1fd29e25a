#include "rotor/cli/text_input.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rotor/core/error.h"

namespace rotor::cli {

std::string read_all_stdin() {
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(0, buffer, sizeof buffer);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR) continue;
      throw Error(cat("cannot read standard input: ", std::strerror(errno)));
    }
    text.append(buffer, static_cast<size_t>(got));
  }
  return text;
}

std::vector<uint32_t> parse_ids(std::string_view text) {
  std::vector<uint32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
    if (i == text.size()) break;
    const size_t start = i;
    uint64_t value = 0;
    bool ok = true;
    while (i < text.size() && !(text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) {
      const char c = text[i++];
      if (c < '0' || c > '9' || value > 0xFFFFFFFFull / 10) ok = false;
      else value = value * 10 + (c - '0');
    }
    ok = ok && value <= 0xFFFFFFFFull;
    if (!ok) {
      std::string word(text.substr(start, std::min<size_t>(i - start, 40)));
      throw Error(cat("input word ", ids.size() + 1, " ('", word, "') is not a token id"));
    }
    ids.push_back(static_cast<uint32_t>(value));
  }
  return ids;
}

void write_stdout(std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(1, bytes.data() + done, bytes.size() - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      throw Error(cat("cannot write standard output: ", std::strerror(errno)));
    }
    done += static_cast<size_t>(wrote);
  }
}

void write_ids(const std::vector<uint32_t>& ids) {
  std::string out;
  out.reserve(ids.size() * 7 + 1);
  char digits[16];
  for (size_t k = 0; k < ids.size(); ++k) {
    if (k) out += ' ';
    uint32_t v = ids[k];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (n) out += digits[--n];
  }
  out += '\n';
  write_stdout(out);
}

}  // namespace rotor::cli
