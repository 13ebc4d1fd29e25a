#include "rotor/models/word2vec_vectors.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::w2v {

namespace {

inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool is_valid_word(std::string_view word) {
  if (word.empty()) return false;
  for (unsigned char c : word)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return false;
  return true;
}

// The header "V D": two positive integers on the first line. Returns the offset after its newline.
size_t parse_header(std::string_view data, const std::string& source, int64_t& count, int64_t& dim) {
  const size_t eol = data.find('\n');
  ROTOR_CHECK(eol != std::string_view::npos, source, ": line 1: missing the header line 'COUNT DIM'");
  std::string_view line = data.substr(0, eol);
  while (!line.empty() && is_blank(line.back())) line.remove_suffix(1);
  const char* p = line.data();
  const char* end = line.data() + line.size();
  auto parse_int = [&](int64_t& out) {
    while (p < end && is_blank(*p)) ++p;
    const auto [next, ec] = std::from_chars(p, end, out);
    ROTOR_CHECK(ec == std::errc() && next != p, source, ": line 1: header '", line,
                "' is not 'COUNT DIM'");
    p = next;
  };
  parse_int(count);
  parse_int(dim);
  ROTOR_CHECK(p == end, source, ": line 1: header '", line, "' has extra fields (expected 'COUNT DIM')");
  ROTOR_CHECK(count >= 1, source, ": line 1: word count ", count, " must be positive");
  ROTOR_CHECK(dim >= 1 && dim <= (1 << 20), source, ": line 1: dimension ", dim, " must be in [1, 1048576]");
  return eol + 1;
}

// Reserves for `count` rows, but not more than the remaining bytes could hold: a lying header must not
// trigger a huge allocation; the parser then reports where the data ends.
void reserve(WordVectors& v, int64_t count, int64_t dim, size_t bytes_left, size_t min_bytes_per_row) {
  v.dim = dim;
  const int64_t possible = static_cast<int64_t>(bytes_left / min_bytes_per_row) + 1;
  v.words.reserve(static_cast<size_t>(std::min(count, possible)));
  v.values.reserve(static_cast<size_t>(std::min(count, possible) * dim));
}

WordVectors parse_text(std::string_view data, const std::string& source) {
  int64_t count = 0, dim = 0;
  size_t pos = parse_header(data, source, count, dim);
  WordVectors v;
  reserve(v, count, dim, data.size() - pos, static_cast<size_t>(2 * dim + 1));
  std::unordered_set<std::string_view> seen;
  int64_t line_no = 1;
  for (int64_t r = 0; r < count; ++r) {
    ++line_no;
    ROTOR_CHECK(pos < data.size(), source, ": line ", line_no, ": file ends after ", r, " of ", count, " words");
    size_t eol = data.find('\n', pos);
    if (eol == std::string_view::npos) eol = data.size();
    const std::string_view line = data.substr(pos, eol - pos);
    pos = eol + 1;
    const char* p = line.data();
    const char* end = line.data() + line.size();
    while (p < end && is_blank(*p)) ++p;
    const char* word_begin = p;
    while (p < end && !is_blank(*p)) ++p;
    ROTOR_CHECK(p > word_begin, source, ": line ", line_no, ": empty line where a word was expected");
    v.words.emplace_back(word_begin, p);
    ROTOR_CHECK(is_valid_word(v.words.back()), source, ": line ", line_no, ": word '", v.words.back(),
                "' contains whitespace");
    v.values.resize(static_cast<size_t>((r + 1) * dim));
    float* out = v.row(r);
    for (int64_t d = 0; d < dim; ++d) {
      while (p < end && is_blank(*p)) ++p;
      ROTOR_CHECK(p < end, source, ": line ", line_no, ": word '", v.words.back(), "' has ", d, " values, expected ",
                  dim);
      const auto [next, ec] = std::from_chars(p, end, out[d]);
      const std::string_view field(p, std::find_if(p, end, is_blank) - p);
      ROTOR_CHECK(ec == std::errc() && (next == end || is_blank(*next)), source, ": line ", line_no, ": value ",
                  d + 1, " '", field, "' is not a number");
      ROTOR_CHECK(std::isfinite(out[d]), source, ": line ", line_no, ": value ", d + 1, " '", field,
                  "' is not finite");
      p = next;
    }
    while (p < end && is_blank(*p)) ++p;
    ROTOR_CHECK(p == end, source, ": line ", line_no, ": word '", v.words.back(), "' has more than ", dim, " values");
  }
  for (; pos < data.size(); ++pos)
    ROTOR_CHECK(is_blank(data[pos]) || data[pos] == '\n', source, ": unexpected data after the ", count,
                " words announced in the header");
  for (int64_t r = 0; r < count; ++r)
    ROTOR_CHECK(seen.insert(v.words[r]).second, source, ": line ", r + 2, ": duplicate word '", v.words[r], "'");
  return v;
}

WordVectors parse_binary(std::string_view data, const std::string& source) {
  int64_t count = 0, dim = 0;
  size_t pos = parse_header(data, source, count, dim);
  WordVectors v;
  const size_t row_bytes = static_cast<size_t>(dim) * sizeof(float);
  reserve(v, count, dim, data.size() - pos, row_bytes + 2);
  std::unordered_set<std::string_view> seen;
  for (int64_t r = 0; r < count; ++r) {
    // The previous record's newline is optional.
    if (r > 0 && pos < data.size() && data[pos] == '\n') ++pos;
    const size_t space = data.find(' ', pos);
    ROTOR_CHECK(space != std::string_view::npos, source, ": record ", r + 1, " of ", count,
                ": truncated (no 'word ' before the values)");
    v.words.emplace_back(data.substr(pos, space - pos));
    ROTOR_CHECK(is_valid_word(v.words.back()), source, ": record ", r + 1, ": word '", v.words.back(),
                "' is empty or contains whitespace");
    pos = space + 1;
    ROTOR_CHECK(data.size() - pos >= row_bytes, source, ": record ", r + 1, " ('", v.words.back(),
                "'): truncated, needs ", row_bytes, " bytes of values, ", data.size() - pos, " left");
    v.values.resize(static_cast<size_t>((r + 1) * dim));
    float* out = v.row(r);
    std::memcpy(out, data.data() + pos, row_bytes);
    pos += row_bytes;
    for (int64_t d = 0; d < dim; ++d)
      ROTOR_CHECK(std::isfinite(out[d]), source, ": record ", r + 1, " ('", v.words.back(), "'): value ", d + 1,
                  " is not finite");
  }
  if (pos < data.size() && data[pos] == '\n') ++pos;
  ROTOR_CHECK(pos == data.size(), source, ": ", data.size() - pos, " unexpected bytes after the ", count,
              " records announced in the header");
  for (int64_t r = 0; r < count; ++r)
    ROTOR_CHECK(seen.insert(v.words[r]).second, source, ": record ", r + 1, ": duplicate word '", v.words[r], "'");
  return v;
}

}  // namespace

std::string format_vectors(const WordVectors& vectors, VectorFormat format) {
  ROTOR_CHECK(vectors.dim >= 1 && static_cast<int64_t>(vectors.values.size()) == vectors.size() * vectors.dim,
              "w2v: vectors have ", vectors.values.size(), " values for ", vectors.size(), " words of dimension ",
              vectors.dim);
  std::string out = cat(vectors.size(), ' ', vectors.dim, '\n');
  out.reserve(out.size() + vectors.values.size() * (format == VectorFormat::kText ? 11 : 4) + vectors.size() * 12);
  char buf[64];
  for (int64_t r = 0; r < vectors.size(); ++r) {
    ROTOR_CHECK(is_valid_word(vectors.words[r]), "w2v: cannot write word '", vectors.words[r],
                "': empty or contains whitespace");
    out += vectors.words[r];
    const float* x = vectors.row(r);
    if (format == VectorFormat::kBinary) {
      out += ' ';
      out.append(reinterpret_cast<const char*>(x), static_cast<size_t>(vectors.dim) * sizeof(float));
    } else {
      for (int64_t d = 0; d < vectors.dim; ++d) {
        const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x[d]);
        out += ' ';
        out.append(buf, end);
      }
    }
    out += '\n';
  }
  return out;
}

void write_vectors(const std::string& path, const WordVectors& vectors, VectorFormat format) {
  io::write_file_atomic(path, format_vectors(vectors, format));
}

VectorFormat detect_vector_format(std::string_view data, const std::string& source) {
  int64_t count = 0, dim = 0;
  const size_t pos = parse_header(data, source, count, dim);
  size_t eol = data.find('\n', pos);
  if (eol == std::string_view::npos) eol = data.size();
  const std::string_view line = data.substr(pos, eol - pos);
  int64_t fields = 0;
  bool in_field = false;
  for (unsigned char c : line) {
    if (c == ' ' || c == '\t' || c == '\r') {
      in_field = false;
      continue;
    }
    // A text record may hold UTF-8 in the word; values are ASCII. Control bytes only occur in binary.
    if (c < 0x20 || c == 0x7f) return VectorFormat::kBinary;
    if (!in_field) ++fields;
    in_field = true;
  }
  return fields == dim + 1 ? VectorFormat::kText : VectorFormat::kBinary;
}

WordVectors parse_vectors(std::string_view data, const std::string& source, VectorFormat format) {
  return format == VectorFormat::kText ? parse_text(data, source) : parse_binary(data, source);
}

WordVectors parse_vectors(std::string_view data, const std::string& source) {
  const VectorFormat format = detect_vector_format(data, source);
  if (format == VectorFormat::kText) return parse_text(data, source);
  try {
    return parse_binary(data, source);
  } catch (const Error& e) {
    throw Error(cat(e.what(), " (read as binary because line 2 is not a word followed by as many numbers as the",
                    " header's dimension)"));
  }
}

WordVectors read_vectors(const std::string& path) { return parse_vectors(io::read_file(path), path); }

}  // namespace rotor::w2v
