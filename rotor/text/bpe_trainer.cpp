#include "rotor/text/bpe_trainer.h"

#include <omp.h>

#include <algorithm>
#include <queue>

#include "rotor/core/error.h"
#include "rotor/core/parallel_error.h"
#include "rotor/text/token_table.h"

namespace rotor::text {

namespace {

// Counts the pieces of one text into `counts` (views into the text).
void count_text(std::string_view text, SplitPattern pattern,
                std::unordered_map<std::string_view, uint64_t>& counts) {
  constexpr size_t kBatch = 1024;
  size_t ends[kBatch];
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t n = split_pieces(pattern, text, pos, ends, kBatch);
    for (size_t k = 0; k < n; ++k) {
      ++counts[text.substr(pos, ends[k] - pos)];
      pos = ends[k];
    }
  }
}

uint64_t pair_key(uint32_t a, uint32_t b) { return (uint64_t(a) << 32) | b; }

}  // namespace

PieceCounts count_pieces(const std::vector<std::string_view>& texts, SplitPattern pattern, int threads) {
  // Cut every text at independent boundaries into chunks of about 1 MB.
  constexpr size_t kChunk = 1 << 20;
  std::vector<std::string_view> chunks;
  for (std::string_view text : texts) {
    size_t start = 0;
    while (start < text.size()) {
      size_t cut = std::min(text.size(), start + kChunk);
      while (cut < text.size() && !is_independent_boundary(text, cut)) ++cut;
      chunks.push_back(text.substr(start, cut - start));
      start = cut;
    }
  }
  threads = std::max(1, std::min<int>(threads, static_cast<int>(chunks.size())));
  std::vector<std::unordered_map<std::string_view, uint64_t>> partial(threads);
  FirstError error;  // the pre-tokenizer's matching can throw (Error, bad_alloc); it must not leave the region
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (size_t c = 0; c < chunks.size(); ++c)
    error.run([&] { count_text(chunks[c], pattern, partial[omp_get_thread_num()]); });
  error.rethrow();
  PieceCounts total;
  for (auto& counts : partial)
    for (const auto& [piece, count] : counts) total[std::string(piece)] += count;
  return total;
}

std::vector<RankedToken> train_bpe(const PieceCounts& pieces, const BpeTrainOptions& options,
                                   const std::function<void(size_t)>& progress) {
  ROTOR_CHECK(options.vocab_size >= 256, "bpe train: vocabulary size ", options.vocab_size,
              " is below 256 (the single bytes alone need 256)");
  ROTOR_CHECK(!pieces.empty(), "bpe train: the corpus is empty");
  // Words in a fixed (sorted) order so that everything below is deterministic.
  std::vector<std::pair<std::string_view, uint64_t>> sorted(pieces.begin(), pieces.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::vector<uint32_t>> words(sorted.size());
  std::vector<uint64_t> word_count(sorted.size());
  for (size_t w = 0; w < sorted.size(); ++w) {
    for (unsigned char c : sorted[w].first) words[w].push_back(c);
    word_count[w] = sorted[w].second;
  }

  std::vector<RankedToken> tokens;
  std::unordered_map<std::string, uint32_t> id_of;
  for (uint32_t b = 0; b < 256; ++b) {
    tokens.push_back({std::string(1, static_cast<char>(b)), b});
    id_of.emplace(tokens.back().bytes, b);
  }

  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<uint32_t>> words_with;
  for (size_t w = 0; w < words.size(); ++w) {
    for (size_t i = 0; i + 1 < words[w].size(); ++i) {
      const uint64_t key = pair_key(words[w][i], words[w][i + 1]);
      pair_count[key] += static_cast<int64_t>(word_count[w]);
      auto& list = words_with[key];
      if (list.empty() || list.back() != w) list.push_back(static_cast<uint32_t>(w));
    }
  }
  // Max-heap on (count, then lower pair key); stale entries are re-pushed when popped.
  struct Entry {
    int64_t count;
    uint64_t key;
    bool operator<(const Entry& o) const { return count != o.count ? count < o.count : key > o.key; }
  };
  std::priority_queue<Entry> heap;
  for (const auto& [key, count] : pair_count) heap.push({count, key});

  std::vector<uint32_t> seen_at(words.size(), 0xFFFFFFFFu);  // merge step that last rewrote a word
  std::vector<uint32_t> rewritten;
  uint32_t step = 0;
  while (tokens.size() < options.vocab_size && !heap.empty()) {
    const Entry top = heap.top();
    heap.pop();
    const auto found = pair_count.find(top.key);
    const int64_t current = found == pair_count.end() ? 0 : found->second;
    if (current != top.count) {
      if (current > 0) heap.push({current, top.key});
      continue;
    }
    if (current < static_cast<int64_t>(options.min_frequency)) break;
    const uint32_t a = static_cast<uint32_t>(top.key >> 32), b = static_cast<uint32_t>(top.key);
    const std::string bytes = tokens[a].bytes + tokens[b].bytes;
    uint32_t merged;
    if (auto it = id_of.find(bytes); it != id_of.end()) {
      merged = it->second;  // same bytes reached by another pair: reuse the token
    } else {
      merged = static_cast<uint32_t>(tokens.size());
      tokens.push_back({bytes, merged});
      id_of.emplace(bytes, merged);
    }
    // Rewrite every word that contains the pair: remove its old pairs, merge, add the new pairs.
    std::vector<uint64_t> grown;
    const std::vector<uint32_t> candidates = std::move(words_with[top.key]);
    words_with.erase(top.key);
    for (const uint32_t w : candidates) {
      if (seen_at[w] == step) continue;
      seen_at[w] = step;
      auto& symbols = words[w];
      const int64_t weight = static_cast<int64_t>(word_count[w]);
      bool contains = false;
      for (size_t i = 0; i + 1 < symbols.size() && !contains; ++i) contains = symbols[i] == a && symbols[i + 1] == b;
      if (!contains) continue;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) pair_count[pair_key(symbols[i], symbols[i + 1])] -= weight;
      rewritten.clear();
      for (size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == a && symbols[i + 1] == b) {
          rewritten.push_back(merged);
          ++i;
        } else {
          rewritten.push_back(symbols[i]);
        }
      }
      symbols = rewritten;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        const uint64_t key = pair_key(symbols[i], symbols[i + 1]);
        pair_count[key] += weight;
        if (symbols[i] == merged || symbols[i + 1] == merged) {
          grown.push_back(key);
          auto& list = words_with[key];
          if (list.empty() || list.back() != w) list.push_back(w);
        }
      }
    }
    pair_count.erase(top.key);
    std::sort(grown.begin(), grown.end());
    grown.erase(std::unique(grown.begin(), grown.end()), grown.end());
    for (const uint64_t key : grown) heap.push({pair_count[key], key});
    ++step;
    if (progress && step % 256 == 0) progress(tokens.size());
  }
  return tokens;
}

}  // namespace rotor::text
