#pragma once
// Word vectors and the word2vec vector file formats.
//
// Text:   "V D\n" then V lines "word x1 x2 ... xD" (separated by spaces; a trailing space is allowed).
// Binary: "V D\n" then V records "word " + D little-endian float32 + "\n" (the newline is optional
//         on input, as some writers omit it).
// Readers are strict: a wrong count, a bad number, a non-finite value, a duplicate word, a truncated
// record or trailing data is an error naming the file and the line (text) or record (binary).
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rotor::w2v {

struct WordVectors {
  int64_t dim = 0;
  std::vector<std::string> words;
  std::vector<float> values;  // [words.size(), dim], row-major

  int64_t size() const { return static_cast<int64_t>(words.size()); }
  const float* row(int64_t i) const { return values.data() + i * dim; }
  float* row(int64_t i) { return values.data() + i * dim; }
};

enum class VectorFormat { kText, kBinary };

// Serialises to the chosen format (text values use the shortest form that reads back exactly).
std::string format_vectors(const WordVectors& vectors, VectorFormat format);
// Writes atomically (temporary file + rename).
void write_vectors(const std::string& path, const WordVectors& vectors, VectorFormat format);

// Parses file contents; the format is detected from the first record: it is text when the rest of
// line 2 is D printable numbers, binary otherwise. `source` names the file in error messages.
WordVectors parse_vectors(std::string_view data, const std::string& source);
WordVectors parse_vectors(std::string_view data, const std::string& source, VectorFormat format);
WordVectors read_vectors(const std::string& path);

VectorFormat detect_vector_format(std::string_view data, const std::string& source);

}  // namespace rotor::w2v
