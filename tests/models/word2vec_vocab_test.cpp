// Vocabulary counting, subsampling probabilities, the negative-sampling distribution and the Huffman tree.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <queue>
#include <set>
#include <sstream>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/models/word2vec_vocab.h"

namespace rotor::w2v {
namespace {

TEST(Word2VecVocab, CountsSortsAndMapsTheCorpus) {
  const std::string text = "b a c a\tb a\n\nd  \r\n e a\n";
  // Independent count with a stream split.
  std::map<std::string, int64_t> expected;
  std::istringstream in(text);
  for (std::string w; in >> w;) ++expected[w];
  const Corpus corpus = build_corpus(text, 1);
  ASSERT_EQ(corpus.vocab.size(), static_cast<int32_t>(expected.size()));
  for (int32_t i = 0; i < corpus.vocab.size(); ++i) {
    EXPECT_EQ(corpus.vocab.counts[i], expected[corpus.vocab.words[i]]) << corpus.vocab.words[i];
    EXPECT_EQ(corpus.vocab.find(corpus.vocab.words[i]), i);
    if (i > 0) {
      EXPECT_GE(corpus.vocab.counts[i - 1], corpus.vocab.counts[i]);
    }
  }
  // Sorted by count, ties by bytes: a(4) b(2) c(1) d(1) e(1).
  EXPECT_EQ(corpus.vocab.words, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(corpus.raw_tokens, 9);
  EXPECT_EQ(corpus.vocab.total_count(), 9);
  EXPECT_EQ(corpus.vocab.find("zzz"), -1);
  // Three non-empty lines: "b a c a b a", "d", "e a".
  EXPECT_EQ(corpus.sentence_starts, (std::vector<int64_t>{0, 6, 7, 9}));
  EXPECT_EQ(corpus.ids, (std::vector<int32_t>{1, 0, 2, 0, 1, 0, 3, 4, 0}));
}

TEST(Word2VecVocab, MinCountDropsRareWordsAndEmptySentences) {
  const Corpus corpus = build_corpus("b a c a b a\nd\ne a\n", 2);
  EXPECT_EQ(corpus.vocab.words, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(corpus.raw_tokens, 9);
  EXPECT_EQ(corpus.ids, (std::vector<int32_t>{1, 0, 0, 1, 0, 0}));
  EXPECT_EQ(corpus.sentence_starts, (std::vector<int64_t>{0, 5, 6}));  // "d" vanished
}

TEST(Word2VecVocab, LongLinesAreSplitIntoSentences) {
  std::string text;
  for (int i = 0; i < 2500; ++i) text += (i % 2 ? "x " : "y ");
  const Corpus corpus = build_corpus(text, 1);
  EXPECT_EQ(corpus.sentence_starts, (std::vector<int64_t>{0, kMaxSentenceLength, 2 * kMaxSentenceLength, 2500}));
}

TEST(Word2VecVocab, EmptyOrTooRareCorpusIsAnError) {
  EXPECT_THROW(build_corpus("", 1, "empty.txt"), Error);
  EXPECT_THROW(build_corpus(" \n\t\n", 1), Error);
  try {
    build_corpus("a b c", 5, "small.txt");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("small.txt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("min-count=5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(build_corpus("a", 0), Error);
}

TEST(Word2VecVocab, SubsamplingFollowsWord2VecFormula) {
  Vocabulary vocab;
  vocab.words = {"the", "of", "lord", "rare"};
  vocab.counts = {60000, 30000, 8000, 5};
  const double total = 98005;
  for (double sample : {1e-3, 1e-4, 1e-5}) {
    const std::vector<float> keep = keep_probabilities(vocab, sample);
    for (size_t w = 0; w < keep.size(); ++w) {
      // word2vec.c: ran = (sqrt(cn / (sample * train_words)) + 1) * (sample * train_words) / cn
      const double cn = static_cast<double>(vocab.counts[w]);
      const double ran = (std::sqrt(cn / (sample * total)) + 1) * (sample * total) / cn;
      EXPECT_NEAR(keep[w], std::min(1.0, ran), 1e-6) << vocab.words[w] << " sample " << sample;
    }
    EXPECT_LT(keep[0], keep[1]);  // more frequent, more discarded
  }
  for (float k : keep_probabilities(vocab, 0.0)) EXPECT_EQ(k, 1.0f);
}

TEST(Word2VecVocab, AliasSamplerMatchesUnigramPower) {
  const std::vector<int64_t> counts = {1000, 400, 120, 50, 9, 3, 1, 1};
  const AliasSampler sampler(counts, 0.75);
  double z = 0;
  for (int64_t c : counts) z += std::pow(static_cast<double>(c), 0.75);
  std::vector<int64_t> hits(counts.size(), 0);
  Rng rng(7);
  const int64_t draws = 2'000'000;
  for (int64_t i = 0; i < draws; ++i) ++hits[sampler.sample(rng.next_u64())];
  for (size_t w = 0; w < counts.size(); ++w) {
    const double p = std::pow(static_cast<double>(counts[w]), 0.75) / z;
    EXPECT_NEAR(sampler.probability(static_cast<int32_t>(w)), p, 1e-12);
    const double sigma = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(static_cast<double>(hits[w]) / draws, p, 5 * sigma + 1e-7) << "word " << w;
  }
}

// Optimal total cost sum(count * depth) by the textbook heap construction (cost = sum of merged weights).
int64_t optimal_huffman_cost(const std::vector<int64_t>& counts) {
  std::priority_queue<int64_t, std::vector<int64_t>, std::greater<>> heap(counts.begin(), counts.end());
  int64_t cost = 0;
  while (heap.size() > 1) {
    const int64_t a = heap.top();
    heap.pop();
    const int64_t b = heap.top();
    heap.pop();
    cost += a + b;
    heap.push(a + b);
  }
  return cost;
}

TEST(Word2VecVocab, HuffmanCodesAreOptimalPrefixCodes) {
  Rng rng(3);
  for (int n : {2, 3, 5, 17, 200, 1000}) {
    std::vector<int64_t> counts(n);
    for (auto& c : counts) c = 1 + static_cast<int64_t>(std::pow(10.0, 4 * rng.uniform()));
    std::sort(counts.rbegin(), counts.rend());
    const HuffmanTree tree = build_huffman_tree(counts);
    ASSERT_EQ(static_cast<int>(tree.code.size()), n);
    int64_t cost = 0;
    double kraft = 0;
    std::set<std::vector<uint8_t>> codes;
    std::map<std::vector<uint8_t>, int32_t> node_of_prefix;  // each code prefix is one inner node
    for (int w = 0; w < n; ++w) {
      const auto& code = tree.code[w];
      const auto& path = tree.path[w];
      ASSERT_EQ(code.size(), path.size());
      ASSERT_GE(code.size(), 1u);
      EXPECT_EQ(path[0], n - 2) << "the root is the last inner node";
      cost += counts[w] * static_cast<int64_t>(code.size());
      kraft += std::ldexp(1.0, -static_cast<int>(code.size()));
      EXPECT_TRUE(codes.insert(code).second) << "duplicate code for word " << w;
      for (size_t i = 0; i < path.size(); ++i) {
        ASSERT_GE(path[i], 0);
        ASSERT_LT(path[i], n - 1);
        const std::vector<uint8_t> prefix(code.begin(), code.begin() + i);
        auto [it, inserted] = node_of_prefix.emplace(prefix, path[i]);
        EXPECT_EQ(it->second, path[i]) << "prefix maps to two nodes";
      }
    }
    EXPECT_EQ(cost, optimal_huffman_cost(counts)) << "n=" << n;
    EXPECT_NEAR(kraft, 1.0, 1e-9) << "a full binary tree";
    EXPECT_EQ(static_cast<int>(node_of_prefix.size()), n - 1);
    // No code is a prefix of another.
    for (auto it = codes.begin(); std::next(it) != codes.end(); ++it) {
      const auto& a = *it;
      const auto& b = *std::next(it);
      EXPECT_FALSE(a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin()));
    }
  }
}

TEST(Word2VecVocab, HuffmanSmallCaseByHand) {
  // counts 5,3,1,1: merge 1+1=2 (d:0? c/d), then 2+3=5, then 5+5=10. Depths: a 1, b 2, c 3, d 3.
  const HuffmanTree tree = build_huffman_tree({5, 3, 1, 1});
  EXPECT_EQ(tree.code[0].size(), 1u);
  EXPECT_EQ(tree.code[1].size(), 2u);
  EXPECT_EQ(tree.code[2].size(), 3u);
  EXPECT_EQ(tree.code[3].size(), 3u);
  EXPECT_THROW(build_huffman_tree({1, 5}), Error);  // must be sorted
  EXPECT_TRUE(build_huffman_tree({4}).code[0].empty());
}

}  // namespace
}  // namespace rotor::w2v
