#pragma once
// word2vec vocabulary and corpus: counting words, the min-count cut, the in-memory corpus of word ids,
// frequent-word subsampling, the unigram^0.75 negative-sampling distribution and the Huffman tree of
// hierarchical softmax. Everything here is independent of the embedding dimension.
//
// Tokens are separated by ASCII whitespace; a newline ends a sentence (context windows never cross it).
// Words are kept byte-exact (no case folding, no normalisation).
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rotor::w2v {

// Words sorted by count, most frequent first (ties: byte order of the word, so the order is stable).
struct Vocabulary {
  std::vector<std::string> words;
  std::vector<int64_t> counts;
  std::unordered_map<std::string, int32_t> index;  // word -> position in `words`

  int32_t size() const { return static_cast<int32_t>(words.size()); }
  int64_t total_count() const;                  // sum of counts: the in-vocabulary tokens of the corpus
  int32_t find(std::string_view word) const;    // -1 when absent
};

// A corpus as word ids with sentence boundaries: sentence s is ids[sentence_starts[s] .. sentence_starts[s+1]).
// Words below min-count are already dropped. Sentences longer than kMaxSentenceLength are split.
struct Corpus {
  Vocabulary vocab;
  std::vector<int32_t> ids;
  std::vector<int64_t> sentence_starts;  // size = sentences + 1
  int64_t raw_tokens = 0;                // all tokens of the text, including the dropped rare ones

  int64_t num_sentences() const { return static_cast<int64_t>(sentence_starts.size()) - 1; }
};

constexpr int64_t kMaxSentenceLength = 1000;

// Counts the words of `text`, keeps those with count >= min_count and maps the text to ids.
// Throws rotor::Error (naming `source`) when no word reaches min_count or the text has no words.
Corpus build_corpus(std::string_view text, int64_t min_count, const std::string& source = "corpus");

// Probability of keeping one occurrence of each word under word2vec's subsampling with threshold
// `sample` (0 disables): keep = sqrt(r) + r with r = sample * total / count, capped at 1.
std::vector<float> keep_probabilities(const Vocabulary& vocab, double sample);

// Negative sampling from count^power / Z with Walker's alias method: O(1) per draw, a table of the
// vocabulary's size (stays in cache, unlike word2vec's 1e8-entry table).
class AliasSampler {
 public:
  AliasSampler() = default;
  AliasSampler(const std::vector<int64_t>& counts, double power);
  // `bits` is a uniform random 64-bit value; returns a word id distributed as count^power.
  int32_t sample(uint64_t bits) const {
    const uint32_t slot = static_cast<uint32_t>((static_cast<unsigned __int128>(bits >> 32) * size_) >> 32);
    const uint32_t coin = static_cast<uint32_t>(bits);  // low 32 bits
    return coin < threshold_[slot] ? static_cast<int32_t>(slot) : alias_[slot];
  }
  double probability(int32_t word) const { return probability_[word]; }  // the target distribution
  int32_t size() const { return static_cast<int32_t>(size_); }

 private:
  uint32_t size_ = 0;
  std::vector<uint32_t> threshold_;  // keep `slot` when coin < threshold (coin uniform in [0, 2^32))
  std::vector<int32_t> alias_;
  std::vector<double> probability_;
};

// Huffman tree over the vocabulary counts. Inner nodes are numbered 0 .. V-2 (the root is V-2).
// For word w, path[w] lists the inner nodes from the root down and code[w] the branch bits taken
// (when two nodes merge, the smaller gets 0 and the larger 1); both have the code's length.
struct HuffmanTree {
  std::vector<std::vector<int32_t>> path;
  std::vector<std::vector<uint8_t>> code;
  int32_t max_depth() const;
};

HuffmanTree build_huffman_tree(const std::vector<int64_t>& counts);

}  // namespace rotor::w2v
