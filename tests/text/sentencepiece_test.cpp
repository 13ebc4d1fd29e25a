// sentencepiece models: ids identical to spm_encode and text identical to spm_decode (reference from
// tests/text/make_sentencepiece_reference.sh), on varied lines and on the whole KJV text; malformed or
// truncated model files fail with rotor::Error.
#include <gtest/gtest.h>

#include <sstream>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/text/sentencepiece_processor.h"
#include "tests/text/text_test_util.h"

namespace rotor::text {
namespace {

const char* const kModels[] = {"bpe_nfkc_bytes",         "unigram_identity", "bpe_identity_raw_spaces",
                               "unigram_identity_bytes", "char_identity",    "word_identity",
                               "unigram_identity_suffix"};

std::string reference(const std::string& file) {
  return io::read_file(testing::source_path("tests/text/reference/sentencepiece/" + file));
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<uint32_t> parse(const std::string& line) {
  std::vector<uint32_t> ids;
  std::istringstream in(line);
  for (uint32_t id; in >> id;) ids.push_back(id);
  return ids;
}

SentencePieceProcessor processor(const std::string& name) {
  return SentencePieceProcessor(parse_sentencepiece_model(reference(name + ".model"), name));
}

TEST(SentencePiece, EncodesLikeSpmEncode) {
  const auto input = lines(reference("input.txt"));
  ASSERT_GT(input.size(), 10u);
  for (const char* name : kModels) {
    const auto sp = processor(name);
    const auto expected = lines(reference(std::string(name) + ".ids"));
    ASSERT_EQ(expected.size(), input.size()) << name;
    for (size_t i = 0; i < input.size(); ++i)
      EXPECT_EQ(sp.encode(input[i]), parse(expected[i])) << name << " line " << i + 1 << ": " << input[i];
  }
}

TEST(SentencePiece, DecodesLikeSpmDecode) {
  for (const char* name : kModels) {
    const auto sp = processor(name);
    const auto ids = lines(reference(std::string(name) + ".ids"));
    const auto expected = lines(reference(std::string(name) + ".decoded"));
    ASSERT_EQ(ids.size(), expected.size()) << name;
    for (size_t i = 0; i < ids.size(); ++i)
      EXPECT_EQ(sp.decode(parse(ids[i])), expected[i]) << name << " line " << i + 1;
  }
}

TEST(SentencePiece, DecodesRandomIdSequencesLikeSpmDecode) {
  // Random ids put byte, control and unknown pieces anywhere; a byte piece may decode to a newline,
  // so the whole output is compared.
  for (const char* name : kModels) {
    const auto sp = processor(name);
    const auto ids = lines(reference(std::string(name) + ".random_ids"));
    ASSERT_EQ(ids.size(), 200u) << name;
    std::string decoded;
    for (const auto& line : ids) decoded += sp.decode(parse(line)) + "\n";
    EXPECT_EQ(decoded, reference(std::string(name) + ".random_decoded")) << name;
  }
}

TEST(SentencePiece, WholeKingJamesTextMatches) {
  const auto text = lines(testing::kjv_text());
  for (const char* name : kModels) {
    const auto sp = processor(name);
    uint32_t hash = 2166136261u;
    uint64_t count = 0;
    for (const auto& line : text) {
      for (uint32_t id : sp.encode(line)) {
        hash = (hash ^ id) * 16777619u;
        ++count;
      }
      hash = (hash ^ 0xFFFFFFFFu) * 16777619u;
    }
    std::istringstream expected(reference(std::string(name) + ".kjv"));
    uint64_t expected_count;
    uint32_t expected_hash;
    expected >> expected_count >> expected_hash;
    EXPECT_EQ(count, expected_count) << name;
    EXPECT_EQ(hash, expected_hash) << name;
  }
}

TEST(SentencePiece, ModelSettingsAreRead) {
  const auto bytes = processor("bpe_nfkc_bytes");
  EXPECT_EQ(bytes.model().type, SentencePieceModel::Type::kBpe);
  EXPECT_TRUE(bytes.model().byte_fallback);
  EXPECT_EQ(bytes.model().normalizer_name, "nmt_nfkc");
  EXPECT_FALSE(bytes.model().precompiled_charsmap.empty());
  const auto raw = processor("bpe_identity_raw_spaces");
  EXPECT_FALSE(raw.model().add_dummy_prefix);
  EXPECT_FALSE(raw.model().remove_extra_whitespaces);
  EXPECT_EQ(processor("unigram_identity").model().type, SentencePieceModel::Type::kUnigram);
  EXPECT_EQ(processor("char_identity").model().type, SentencePieceModel::Type::kChar);
  EXPECT_EQ(processor("word_identity").model().type, SentencePieceModel::Type::kWord);
  EXPECT_TRUE(processor("unigram_identity_suffix").model().treat_whitespace_as_suffix);
  EXPECT_EQ(processor("unigram_identity_suffix").normalize(" a  b "), "a" "\xE2\x96\x81" "b" "\xE2\x96\x81");
  EXPECT_EQ(processor("unigram_identity").normalize("  a  b "), "\xE2\x96\x81" "a" "\xE2\x96\x81" "b");
}

TEST(SentencePiece, TruncatedAndMalformedModelsThrow) {
  const std::string model = reference("unigram_identity.model");
  for (size_t cut : {size_t(1), size_t(7), model.size() / 3, model.size() / 2, model.size() - 1}) {
    EXPECT_THROW(
        {
          const auto m = parse_sentencepiece_model(std::string_view(model).substr(0, cut), "cut");
          SentencePieceProcessor sp(m);
        },
        Error)
        << "cut at " << cut;
  }
  EXPECT_THROW(parse_sentencepiece_model("not a model at all", "text"), Error);
  EXPECT_THROW(parse_sentencepiece_model("", "empty"), Error);
  const auto sp = processor("unigram_identity");
  const std::vector<uint32_t> bad = {5, 100000};
  EXPECT_THROW(sp.decode(bad), Error);
}

}  // namespace
}  // namespace rotor::text
