#include "rotor/models/word2vec_vocab.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "rotor/core/error.h"

namespace rotor::w2v {

int64_t Vocabulary::total_count() const { return std::accumulate(counts.begin(), counts.end(), int64_t{0}); }

int32_t Vocabulary::find(std::string_view word) const {
  const auto it = index.find(std::string(word));
  return it == index.end() ? -1 : it->second;
}

namespace {

inline bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// One pass over the text: provisional ids in first-seen order, their counts, and the token stream
// with -1 marking a line end.
struct FirstPass {
  std::unordered_map<std::string_view, int32_t> ids;
  std::vector<std::string_view> words;
  std::vector<int64_t> counts;
  std::vector<int32_t> stream;
};

FirstPass scan(std::string_view text) {
  FirstPass pass;
  pass.stream.reserve(text.size() / 5 + 16);
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      pass.stream.push_back(-1);
      ++i;
      continue;
    }
    if (is_space(c)) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && !is_space(static_cast<unsigned char>(text[j]))) ++j;
    const std::string_view word = text.substr(i, j - i);
    auto [it, inserted] = pass.ids.try_emplace(word, static_cast<int32_t>(pass.words.size()));
    if (inserted) {
      pass.words.push_back(word);
      pass.counts.push_back(0);
    }
    ++pass.counts[it->second];
    pass.stream.push_back(it->second);
    i = j;
  }
  return pass;
}

// The vectors file is one word per line (text) or per record (binary), read back by `w2v neighbors` and by
// other word2vec tools: a control byte (NUL, ESC, DEL ...) in a word cannot be written so that they agree,
// so a kept word with one is refused, naming the word with the byte escaped.
void check_no_control_bytes(std::string_view word, const std::string& source) {
  for (size_t k = 0; k < word.size(); ++k) {
    const unsigned char c = static_cast<unsigned char>(word[k]);
    if (c >= 0x20 && c != 0x7f) continue;
    std::string shown;
    for (unsigned char b : word) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", b);
      shown += b >= 0x20 && b != 0x7f ? std::string(1, static_cast<char>(b)) : std::string(hex);
    }
    throw Error(cat(source, ": word '", shown, "' contains the control byte ", static_cast<int>(c),
                    " (the vectors file cannot hold it; remove control bytes from the corpus)"));
  }
}

}  // namespace

Corpus build_corpus(std::string_view text, int64_t min_count, const std::string& source) {
  ROTOR_CHECK(min_count >= 1, "w2v: min-count must be >= 1, got ", min_count);
  FirstPass pass = scan(text);
  ROTOR_CHECK(!pass.words.empty(), source, ": no words (the corpus is empty or only whitespace)");

  std::vector<int32_t> kept;
  for (int32_t w = 0; w < static_cast<int32_t>(pass.words.size()); ++w)
    if (pass.counts[w] >= min_count) {
      check_no_control_bytes(pass.words[w], source);
      kept.push_back(w);
    }
  ROTOR_CHECK(!kept.empty(), source, ": no word occurs at least min-count=", min_count, " times (",
              pass.words.size(), " distinct words)");
  std::sort(kept.begin(), kept.end(), [&](int32_t a, int32_t b) {
    if (pass.counts[a] != pass.counts[b]) return pass.counts[a] > pass.counts[b];
    return pass.words[a] < pass.words[b];
  });

  Corpus corpus;
  std::vector<int32_t> final_id(pass.words.size(), -1);
  corpus.vocab.words.reserve(kept.size());
  for (int32_t rank = 0; rank < static_cast<int32_t>(kept.size()); ++rank) {
    const int32_t w = kept[rank];
    final_id[w] = rank;
    corpus.vocab.words.emplace_back(pass.words[w]);
    corpus.vocab.counts.push_back(pass.counts[w]);
    corpus.vocab.index.emplace(corpus.vocab.words.back(), rank);
  }

  corpus.ids.reserve(pass.stream.size());
  corpus.sentence_starts.push_back(0);
  int64_t sentence_length = 0;
  for (const int32_t token : pass.stream) {
    if (token < 0) {
      if (sentence_length > 0) corpus.sentence_starts.push_back(static_cast<int64_t>(corpus.ids.size()));
      sentence_length = 0;
      continue;
    }
    ++corpus.raw_tokens;
    const int32_t id = final_id[token];
    if (id < 0) continue;
    corpus.ids.push_back(id);
    if (++sentence_length == kMaxSentenceLength) {
      corpus.sentence_starts.push_back(static_cast<int64_t>(corpus.ids.size()));
      sentence_length = 0;
    }
  }
  if (sentence_length > 0) corpus.sentence_starts.push_back(static_cast<int64_t>(corpus.ids.size()));
  return corpus;
}

std::vector<float> keep_probabilities(const Vocabulary& vocab, double sample) {
  std::vector<float> keep(vocab.words.size(), 1.0f);
  if (sample <= 0) return keep;
  const double total = static_cast<double>(vocab.total_count());
  for (size_t w = 0; w < keep.size(); ++w) {
    const double r = sample * total / static_cast<double>(vocab.counts[w]);
    keep[w] = static_cast<float>(std::min(1.0, std::sqrt(r) + r));
  }
  return keep;
}

AliasSampler::AliasSampler(const std::vector<int64_t>& counts, double power) {
  ROTOR_CHECK(!counts.empty(), "w2v: negative sampling needs a non-empty vocabulary");
  size_ = static_cast<uint32_t>(counts.size());
  probability_.resize(size_);
  double z = 0;
  for (uint32_t w = 0; w < size_; ++w) z += probability_[w] = std::pow(static_cast<double>(counts[w]), power);
  for (auto& p : probability_) p /= z;

  // Vose's construction: scaled[w] = p[w] * V; fill every slot up to 1 from an over-full word.
  std::vector<double> scaled(size_);
  std::vector<uint32_t> small, large;
  for (uint32_t w = 0; w < size_; ++w) {
    scaled[w] = probability_[w] * size_;
    (scaled[w] < 1.0 ? small : large).push_back(w);
  }
  threshold_.assign(size_, 0);
  alias_.assign(size_, 0);
  constexpr double kScale = 4294967296.0;  // 2^32
  auto to_threshold = [&](double p) {
    return p >= 1.0 ? UINT32_MAX : static_cast<uint32_t>(std::max(0.0, p) * kScale);
  };
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back(), l = large.back();
    small.pop_back();
    threshold_[s] = to_threshold(scaled[s]);
    alias_[s] = static_cast<int32_t>(l);
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Leftovers are 1 up to rounding: they always keep their own slot.
  for (uint32_t w : small) threshold_[w] = UINT32_MAX, alias_[w] = static_cast<int32_t>(w);
  for (uint32_t w : large) threshold_[w] = UINT32_MAX, alias_[w] = static_cast<int32_t>(w);
}

int32_t HuffmanTree::max_depth() const {
  size_t depth = 0;
  for (const auto& p : path) depth = std::max(depth, p.size());
  return static_cast<int32_t>(depth);
}

// word2vec's construction: leaves sorted by count descending are merged from the back with a second
// queue of inner nodes (created in increasing count order), so no heap is needed. When two nodes
// merge, the smaller one gets bit 0 and the larger bit 1. Ties favour leaves, then older nodes.
HuffmanTree build_huffman_tree(const std::vector<int64_t>& counts) {
  const int64_t n = static_cast<int64_t>(counts.size());
  ROTOR_CHECK(n >= 1, "w2v: Huffman tree of an empty vocabulary");
  for (int64_t w = 1; w < n; ++w)
    ROTOR_CHECK(counts[w - 1] >= counts[w], "w2v: Huffman tree needs counts sorted descending");
  HuffmanTree tree;
  tree.path.resize(n);
  tree.code.resize(n);
  if (n == 1) return tree;

  // Nodes 0..n-1 are leaves, n..2n-2 inner nodes.
  std::vector<int64_t> weight(2 * n - 1), parent(2 * n - 1, -1);
  std::vector<uint8_t> bit(2 * n - 1, 0);
  for (int64_t w = 0; w < n; ++w) weight[w] = counts[w];
  int64_t leaf = n - 1, inner = n;  // next smallest leaf (moving down) and inner node (moving up)
  auto pop_smallest = [&](int64_t created) {
    if (leaf >= 0 && (inner >= created || weight[leaf] <= weight[inner])) return leaf--;
    return inner++;
  };
  for (int64_t created = n; created < 2 * n - 1; ++created) {
    const int64_t a = pop_smallest(created);
    const int64_t b = pop_smallest(created);
    weight[created] = weight[a] + weight[b];
    parent[a] = parent[b] = created;
    bit[a] = 0;
    bit[b] = 1;
  }
  for (int64_t w = 0; w < n; ++w) {
    auto& path = tree.path[w];
    auto& code = tree.code[w];
    for (int64_t node = w; parent[node] >= 0; node = parent[node]) {
      code.push_back(bit[node]);
      path.push_back(static_cast<int32_t>(parent[node] - n));
    }
    std::reverse(path.begin(), path.end());
    std::reverse(code.begin(), code.end());
  }
  return tree;
}

}  // namespace rotor::w2v
