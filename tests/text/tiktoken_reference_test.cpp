// Token-for-token comparison with tiktoken: ids produced by tests/text/make_tiktoken_reference.cjs
// (npm tiktoken) for hand-picked and generated strings, and count + hashes for the whole KJV text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "rotor/io/atomic_file.h"
#include "tests/text/text_test_util.h"

namespace rotor::text {
namespace {

using testing::encoding;
const char* const kEncodings[] = {"gpt2", "r50k_base", "p50k_base", "p50k_edit", "cl100k_base", "o200k_base"};

const nlohmann::json& cases() {
  static const nlohmann::json data =
      nlohmann::json::parse(io::read_file(testing::source_path("tests/text/reference/tiktoken_cases.json")));
  return data.at("cases");
}

std::string describe(const std::string& text) { return nlohmann::json(text).dump(); }

TEST(TiktokenReference, OrdinaryEncodingMatchesEveryCase) {
  ASSERT_GT(cases().size(), 400u);
  for (const char* name : kEncodings) {
    const auto& bpe = encoding(name);
    int mismatches = 0;
    for (const auto& c : cases()) {
      const std::string text = c.at("text");
      const auto expected = c.at("ordinary").at(name).get<std::vector<uint32_t>>();
      const auto got = bpe.encode(text, SpecialMode::kAsText);
      if (got != expected && ++mismatches <= 5)
        ADD_FAILURE() << name << " differs on " << describe(text) << "\n  expected "
                      << nlohmann::json(expected).dump() << "\n  got      " << nlohmann::json(got).dump();
      EXPECT_EQ(bpe.decode(got), text) << name << " round trip of " << describe(text);
    }
    EXPECT_EQ(mismatches, 0) << name;
  }
}

TEST(TiktokenReference, AllowedSpecialTokensMatch) {
  for (const char* name : kEncodings) {
    const auto& bpe = encoding(name);
    for (const auto& c : cases()) {
      const std::string text = c.at("text");
      const auto expected = c.at("allowed").at(name).get<std::vector<uint32_t>>();
      EXPECT_EQ(bpe.encode(text, SpecialMode::kAllow), expected) << name << " on " << describe(text);
    }
  }
}

TEST(TiktokenReference, DefaultModeRejectsSpecialTokensLikeTiktoken) {
  for (const char* name : kEncodings) {
    const auto& bpe = encoding(name);
    int raising = 0;
    for (const auto& c : cases()) {
      const std::string text = c.at("text");
      const bool raises = c.at("default_raises").at(name);
      raising += raises;
      if (raises) {
        EXPECT_THROW(bpe.encode(text, SpecialMode::kError), Error) << name << " on " << describe(text);
      } else {
        EXPECT_EQ(bpe.encode(text, SpecialMode::kError), c.at("allowed").at(name).get<std::vector<uint32_t>>());
      }
    }
    EXPECT_GT(raising, 10) << "the corpus should contain special tokens";
  }
}

uint32_t fnv(const std::vector<uint32_t>& ids) {
  uint32_t h = 2166136261u;
  for (uint32_t id : ids) h = (h ^ id) * 16777619u;
  return h;
}
uint32_t mur(const std::vector<uint32_t>& ids) {
  uint32_t h = 0x9747b28cu;
  for (uint32_t id : ids) h = (h ^ id) * 0x5bd1e995u + 0x1b873593u;
  return h;
}

TEST(TiktokenReference, KingJamesBibleMatchesOnOneAndTwoThreads) {
  const auto ref = nlohmann::json::parse(io::read_file(testing::source_path("tests/text/reference/tiktoken_kjv.json")));
  const std::string& text = testing::kjv_text();
  ASSERT_EQ(text.size(), ref.at("bytes").get<size_t>());
  for (const char* name : {"gpt2", "cl100k_base", "o200k_base"}) {
    const auto& expected = ref.at("encodings").at(name);
    const auto one = encoding(name).encode(text, SpecialMode::kError, 1);
    EXPECT_EQ(one.size(), expected.at("count").get<size_t>()) << name;
    EXPECT_EQ(fnv(one), expected.at("fnv").get<uint32_t>()) << name;
    EXPECT_EQ(mur(one), expected.at("mur").get<uint32_t>()) << name;
    const auto first = expected.at("first").get<std::vector<uint32_t>>();
    EXPECT_TRUE(std::equal(first.begin(), first.end(), one.begin())) << name;
    const auto two = encoding(name).encode(text, SpecialMode::kError, 2);
    EXPECT_EQ(two, one) << name << ": two threads differ from one";
    EXPECT_EQ(encoding(name).decode(one), text) << name;
  }
}

}  // namespace
}  // namespace rotor::text
