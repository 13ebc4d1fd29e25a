// word2vec vector files: exact round trips in both formats, format detection, strict errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/io/atomic_file.h"
#include "rotor/models/word2vec_vectors.h"
#include "tests/io/file_size_limit.h"

namespace rotor::w2v {
namespace {

WordVectors random_vectors(int64_t n, int64_t dim, uint64_t seed) {
  WordVectors v;
  v.dim = dim;
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) v.words.push_back("w" + std::to_string(i));
  v.words[0] = "über";        // UTF-8 words pass through
  if (n > 1) v.words[1] = "日本";
  for (int64_t i = 0; i < n * dim; ++i) v.values.push_back(static_cast<float>(rng.normal() * std::pow(10.0, rng.uniform_int(9)) * 1e-4));
  return v;
}

// Message of the Error thrown by parsing `data`, or "" when it parses.
std::string parse_error(const std::string& data) {
  try {
    parse_vectors(data, "v.txt");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Word2VecVectors, TextAndBinaryRoundTripExactly) {
  for (int64_t dim : {1, 3, 100}) {
    const WordVectors v = random_vectors(50, dim, dim);
    for (VectorFormat format : {VectorFormat::kText, VectorFormat::kBinary}) {
      const std::string data = format_vectors(v, format);
      EXPECT_EQ(detect_vector_format(data, "x"), format);
      const WordVectors back = parse_vectors(data, "x");
      EXPECT_EQ(back.dim, dim);
      EXPECT_EQ(back.words, v.words);
      ASSERT_EQ(back.values.size(), v.values.size());
      EXPECT_EQ(std::memcmp(back.values.data(), v.values.data(), v.values.size() * sizeof(float)), 0);
    }
  }
}

TEST(Word2VecVectors, TextLayoutIsWord2Vec) {
  WordVectors v;
  v.dim = 2;
  v.words = {"a", "b"};
  v.values = {0.5f, -1.0f, 0.25f, 3.0f};
  EXPECT_EQ(format_vectors(v, VectorFormat::kText), "2 2\na 0.5 -1\nb 0.25 3\n");
  const std::string bin = format_vectors(v, VectorFormat::kBinary);
  ASSERT_EQ(bin.size(), 4 + 2 * (2 + 8 + 1));
  EXPECT_EQ(bin.substr(0, 6), "2 2\na ");
  float x[2];
  std::memcpy(x, bin.data() + 6, 8);
  EXPECT_EQ(x[0], 0.5f);
  EXPECT_EQ(x[1], -1.0f);
}

TEST(Word2VecVectors, AcceptsTrailingSpacesCrlfAndBinaryWithoutNewlines) {
  const WordVectors t = parse_vectors("2 3\r\nx 1 2 3 \r\ny -1 -2 -3 \n", "t");
  EXPECT_EQ(t.words, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(t.values, (std::vector<float>{1, 2, 3, -1, -2, -3}));
  // Binary records without the newline separator (some writers omit it).
  const float a[2] = {1.5f, -2.0f}, b[2] = {0.0f, 7.0f};
  std::string bin = "2 2\nx ";
  bin.append(reinterpret_cast<const char*>(a), 8);
  bin += "y ";
  bin.append(reinterpret_cast<const char*>(b), 8);
  const WordVectors v = parse_vectors(bin, "b", VectorFormat::kBinary);
  EXPECT_EQ(v.words, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(v.values, (std::vector<float>{1.5f, -2.0f, 0.0f, 7.0f}));
}

TEST(Word2VecVectors, MalformedTextFilesAreErrorsNamingTheLine) {
  struct Case {
    std::string data, expected;
  };
  const std::vector<Case> cases = {
      {"", "line 1: missing the header"},
      {"2\na 1\n", "line 1: header '2'"},
      {"two 2\na 1 2\n", "is not 'COUNT DIM'"},
      {"1 2 3\na 1 2\n", "extra fields"},
      {"0 2\n", "word count 0"},
      {"1 0\na\n", "dimension 0"},
      {"2 2\na 1 2\n", "line 3: file ends after 1 of 2 words"},
      {"2 2\na 1 2\nb 1\n", "line 3: word 'b' has 1 values, expected 2"},
      {"2 2\na 1 2\nb 1 2 3\n", "line 3: word 'b' has more than 2 values"},
      {"2 2\na 1 2\nb 1 x\n", "line 3: value 2 'x' is not a number"},
      {"2 2\na 1 2\nb 1 2.5q\n", "line 3: value 2 '2.5q' is not a number"},
      {"2 2\na 1 2\nb nan 2\n", "line 3: value 1 'nan' is not finite"},
      {"2 2\na 1 2\na 3 4\n", "line 3: duplicate word 'a'"},
      {"1 2\na 1 2\nb 3 4\n", "unexpected data after the 1 words"},
      {"1000000000 2\na 1 2\n", "line 3: file ends after 1 of 1000000000 words"},
  };
  for (const auto& c : cases) {
    const std::string message = parse_error(c.data);
    EXPECT_NE(message.find(c.expected), std::string::npos) << "input: " << c.data << "\nmessage: " << message;
    if (!message.empty()) {
      EXPECT_EQ(message.rfind("v.txt", 0), 0u) << message;
    }
  }
}

TEST(Word2VecVectors, MalformedBinaryFilesAreErrors) {
  WordVectors v;
  v.dim = 4;
  v.words = {"a", "b", "c"};
  v.values.assign(12, 0.125f);
  const std::string good = format_vectors(v, VectorFormat::kBinary);
  EXPECT_EQ(parse_error(good), "");
  // Every strict truncation fails.
  for (size_t cut = 4; cut + 1 < good.size(); ++cut)
    EXPECT_NE(parse_error(good.substr(0, cut)), "") << "truncated at " << cut;
  EXPECT_NE(parse_error(good + "zz").find("unexpected bytes"), std::string::npos);
  std::string nan = good;
  const float q = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan.data() + 4 + 2 + 8, &q, 4);  // third value of "a"
  EXPECT_NE(parse_error(nan).find("record 1 ('a'): value 3 is not finite"), std::string::npos) << parse_error(nan);
  std::string dup = good;
  dup[good.find("b ")] = 'a';
  EXPECT_NE(parse_error(dup).find("duplicate word 'a'"), std::string::npos) << parse_error(dup);
}

TEST(Word2VecVectors, WriteIsAtomicAndReadNamesMissingFiles) {
  const std::string path = ::testing::TempDir() + "/w2v_vectors_test.vec";
  const WordVectors v = random_vectors(5, 3, 9);
  write_vectors(path, v, VectorFormat::kText);
  const WordVectors back = read_vectors(path);
  EXPECT_EQ(back.values, v.values);
  std::remove(path.c_str());
  EXPECT_THROW(read_vectors(path), Error);
  WordVectors bad = v;
  bad.words[2] = "has space";
  EXPECT_THROW(format_vectors(bad, VectorFormat::kText), Error);
}

// A write failing part-way (file-size limit at half the new file) leaves the old vectors and no temporary.
TEST(Word2VecVectors, WriteFailingPartWayLeavesExistingFile) {
  const std::string dir = ::testing::TempDir() + "/w2v_partial-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/v.vec";
  write_vectors(path, random_vectors(5, 3, 9), VectorFormat::kText);
  const std::string before = io::read_file(path);
  const WordVectors big = random_vectors(500, 50, 3);
  for (VectorFormat format : {VectorFormat::kText, VectorFormat::kBinary}) {
    {
      io::testing::FileSizeLimit limit(format_vectors(big, format).size() / 2);
      EXPECT_THROW(write_vectors(path, big, format), Error);
    }
    EXPECT_EQ(io::read_file(path), before);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rotor::w2v
