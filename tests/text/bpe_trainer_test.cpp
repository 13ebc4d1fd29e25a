// BPE training: the first merge is the most frequent pair (counted here by brute force), the result is
// the same on one and two threads, tokens are unique, and the output encodes and decodes its corpus.
#include <gtest/gtest.h>

#include <map>

#include "rotor/core/error.h"
#include "rotor/text/bpe_trainer.h"
#include "rotor/text/byte_pair_encoding.h"
#include "tests/text/text_test_util.h"

namespace rotor::text {
namespace {

std::string corpus() {
  // About 2 MB: enough for the parallel counter to cut the text into several chunks.
  return testing::kjv_text().substr(0, 2 << 20);
}

TEST(BpeTrainer, FirstMergeIsTheMostFrequentPair) {
  const std::string text = corpus();
  const auto pieces = count_pieces({text}, SplitPattern::kGpt2, 1);
  // Brute force: count adjacent byte pairs within pieces, weighted by piece count.
  std::map<std::pair<unsigned char, unsigned char>, uint64_t> pairs;
  for (const auto& [piece, count] : pieces)
    for (size_t i = 0; i + 1 < piece.size(); ++i) pairs[{piece[i], piece[i + 1]}] += count;
  auto best = pairs.begin();
  for (auto it = pairs.begin(); it != pairs.end(); ++it)
    if (it->second > best->second) best = it;
  BpeTrainOptions options;
  options.vocab_size = 257;
  options.pattern = SplitPattern::kGpt2;
  const auto tokens = train_bpe(pieces, options);
  ASSERT_EQ(tokens.size(), 257u);
  const std::string expected{char(best->first.first), char(best->first.second)};
  EXPECT_EQ(tokens[256].bytes, expected);
  EXPECT_EQ(tokens[256].rank, 256u);
}

TEST(BpeTrainer, CountsDoNotDependOnThreads) {
  const std::string text = corpus();
  const auto one = count_pieces({text}, SplitPattern::kCl100k, 1);
  const auto two = count_pieces({text}, SplitPattern::kCl100k, 2);
  EXPECT_EQ(one, two);
  uint64_t bytes = 0;
  for (const auto& [piece, count] : one) bytes += piece.size() * count;
  EXPECT_EQ(bytes, text.size());  // the pieces tile the text
}

TEST(BpeTrainer, TrainedVocabularyIsDeterministicUniqueAndEncodes) {
  const std::string text = corpus();
  BpeTrainOptions options;
  options.vocab_size = 1500;
  options.pattern = SplitPattern::kO200k;
  const auto a = train_bpe(count_pieces({text}, options.pattern, 1), options);
  const auto b = train_bpe(count_pieces({text}, options.pattern, 2), options);
  ASSERT_EQ(a.size(), 1500u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].bytes, b[i].bytes);
    EXPECT_EQ(a[i].rank, i);
  }
  // Round trip through the rank-file format and the encoder.
  const auto reloaded = parse_tiktoken_ranks(format_tiktoken_ranks(a), "trained");
  const BytePairEncoding bpe("trained", reloaded, options.pattern, {{"<|endoftext|>", 1500}});
  const auto ids = bpe.encode(text, SpecialMode::kError);
  EXPECT_EQ(bpe.decode(ids), text);
  EXPECT_LT(ids.size(), text.size() / 3) << "a 1500-token vocabulary should compress English 3x";
}

TEST(BpeTrainer, RejectsSmallVocabulariesAndEmptyCorpora) {
  BpeTrainOptions options;
  options.vocab_size = 100;
  EXPECT_THROW(train_bpe(count_pieces({"some text"}, SplitPattern::kGpt2, 1), options), Error);
  options.vocab_size = 300;
  EXPECT_THROW(train_bpe(count_pieces({""}, SplitPattern::kGpt2, 1), options), Error);
}

}  // namespace
}  // namespace rotor::text
