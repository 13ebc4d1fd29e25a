#include "rotor/text/byte_pair_encoding.h"

#include <omp.h>

#include <algorithm>

#include "rotor/core/error.h"
#include "rotor/core/parallel_error.h"
#include "rotor/core/threads.h"
#include "rotor/text/piece_cache.h"
#include "rotor/text/unicode_class.h"

namespace rotor::text {

namespace {
// Pieces up to this many bytes use the quadratic merge over small arrays; longer ones a heap.
constexpr size_t kSmallPiece = 128;
// Below this many bytes an ordinary segment is encoded on one thread.
constexpr size_t kParallelBytes = 1 << 20;
}  // namespace

BytePairEncoding::BytePairEncoding(std::string name, const std::vector<RankedToken>& ranks,
                                   SplitPattern pattern, std::vector<SpecialToken> specials)
    : name_(std::move(name)), table_(ranks), pattern_(pattern), specials_(std::move(specials)) {
  vocab_size_ = table_.rank_limit();
  for (const auto& special : specials_) {
    ROTOR_CHECK(!special.text.empty(), name_, ": empty special token");
    ROTOR_CHECK(!table_.contains(special.id), name_, ": special token ", special.text, " has id ",
                special.id, ", which is already the rank of an ordinary token");
    vocab_size_ = std::max<size_t>(vocab_size_, size_t(special.id) + 1);
  }
}

void BytePairEncoding::encode_piece(std::string_view piece, std::vector<uint32_t>& out) const {
  const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  const size_t n = piece.size();
  if (n == 1) {
    out.push_back(table_.byte_rank(p[0]));
    return;
  }
  if (n <= table_.max_token_length()) {
    if (const uint32_t rank = table_.find(p, n); rank != kNoRank) {
      out.push_back(rank);
      return;
    }
  }
  if (n <= kSmallPiece) merge_small(p, n, out);
  else merge_large(p, n, out);
}

// The merge over small arrays: part i covers bytes [start[i], start[i+1]); pair_rank[i] is the rank
// of parts i and i+1 joined.
void BytePairEncoding::merge_small(const unsigned char* p, size_t n, std::vector<uint32_t>& out) const {
  uint32_t start[kSmallPiece + 1], part_rank[kSmallPiece + 1], pair_rank[kSmallPiece + 1];
  size_t parts = n;
  for (size_t i = 0; i < n; ++i) {
    start[i] = static_cast<uint32_t>(i);
    part_rank[i] = table_.byte_rank(p[i]);
  }
  start[n] = static_cast<uint32_t>(n);
  for (size_t i = 0; i + 1 < n; ++i) pair_rank[i] = table_.pair_rank(p[i], p[i + 1]);
  auto joined_rank = [&](size_t i) {  // rank of parts i and i+1 joined (i + 1 < parts)
    return table_.find(p + start[i], start[i + 2] - start[i]);
  };
  while (parts > 1) {
    uint32_t best = kNoRank;
    size_t at = 0;
    for (size_t i = 0; i + 1 < parts; ++i) {
      if (pair_rank[i] < best) {
        best = pair_rank[i];
        at = i;
      }
    }
    if (best == kNoRank) break;
    part_rank[at] = best;
    // Remove boundary at+1.
    for (size_t i = at + 1; i < parts; ++i) {
      start[i] = start[i + 1];
      part_rank[i] = part_rank[i + 1];
      pair_rank[i] = pair_rank[i + 1];
    }
    --parts;
    if (at + 1 < parts) pair_rank[at] = joined_rank(at);
    if (at > 0) pair_rank[at - 1] = joined_rank(at - 1);
  }
  out.insert(out.end(), part_rank, part_rank + parts);
}

namespace {

// A merge candidate: join the part starting at `left` with its right neighbour, which ends at
// `right_end`. Ordered by rank, then position (tiktoken merges the leftmost of equal ranks first).
struct Candidate {
  uint32_t rank, left, right_end;
  bool before(const Candidate& o) const { return rank != o.rank ? rank < o.rank : left < o.left; }
};

// A 4-ary min-heap: half the depth of a binary heap, and the children of a node share a cache line.
class CandidateHeap {
 public:
  explicit CandidateHeap(std::vector<Candidate> items) : items_(std::move(items)) {
    for (size_t i = items_.size() / 4 + 1; i-- > 0;) sift_down(i);
  }
  bool empty() const { return items_.empty(); }
  Candidate pop() {
    const Candidate top = items_[0];
    items_[0] = items_.back();
    items_.pop_back();
    if (!items_.empty()) sift_down(0);
    return top;
  }
  void push(const Candidate& c) {
    size_t i = items_.size();
    items_.push_back(c);
    while (i > 0) {
      const size_t parent = (i - 1) / 4;
      if (!c.before(items_[parent])) break;
      items_[i] = items_[parent];
      i = parent;
    }
    items_[i] = c;
  }

 private:
  void sift_down(size_t i) {
    const Candidate c = items_[i];
    const size_t n = items_.size();
    for (;;) {
      const size_t first = 4 * i + 1;
      if (first >= n) break;
      size_t best = first;
      for (size_t k = first + 1; k < std::min(first + 4, n); ++k)
        if (items_[k].before(items_[best])) best = k;
      if (!items_[best].before(c)) break;
      items_[i] = items_[best];
      i = best;
    }
    items_[i] = c;
  }
  std::vector<Candidate> items_;
};

}  // namespace

// The same merge order for long pieces in O(n log n): a heap of candidate pairs keyed by
// (rank, left start), a doubly linked list of parts, and lazy deletion of stale candidates.
void BytePairEncoding::merge_large(const unsigned char* p, size_t n, std::vector<uint32_t>& out) const {
  std::vector<uint32_t> next(n), prev(n), rank_of(n);
  std::vector<uint32_t> end(n);  // end byte of the part starting at i (valid for live parts)
  std::vector<char> alive(n, 1);
  for (size_t i = 0; i < n; ++i) {
    next[i] = static_cast<uint32_t>(i + 1);
    prev[i] = static_cast<uint32_t>(i) - 1;
    end[i] = static_cast<uint32_t>(i + 1);
    rank_of[i] = table_.byte_rank(p[i]);
  }
  const size_t max_length = table_.max_token_length();
  std::vector<Candidate> initial;
  initial.reserve(n);
  for (uint32_t i = 0; i + 1 < n; ++i)
    if (const uint32_t rank = table_.pair_rank(p[i], p[i + 1]); rank != kNoRank) initial.push_back({rank, i, i + 2});
  CandidateHeap heap(std::move(initial));
  auto push_pair = [&](uint32_t left) {
    if (left >= n || next[left] >= n) return;
    const uint32_t right_end = end[next[left]];
    if (right_end - left > max_length) return;
    const uint32_t rank = table_.find(p + left, right_end - left);
    if (rank != kNoRank) heap.push({rank, left, right_end});
  };
  while (!heap.empty()) {
    const Candidate c = heap.pop();
    // Stale if either part changed since the candidate was pushed.
    if (!alive[c.left] || next[c.left] >= n || end[next[c.left]] != c.right_end) continue;
    const uint32_t right = next[c.left];
    alive[right] = 0;
    end[c.left] = c.right_end;
    rank_of[c.left] = c.rank;
    next[c.left] = next[right];
    if (next[right] < n) prev[next[right]] = c.left;
    push_pair(c.left);
    if (c.left > 0) push_pair(prev[c.left]);
  }
  for (size_t i = 0; i < n; i = next[i]) out.push_back(rank_of[i]);
}

void BytePairEncoding::encode_ordinary(std::string_view text, std::vector<uint32_t>& out) const {
  constexpr size_t kCacheFrom = 4096;  // shorter texts skip the piece cache
  std::unique_ptr<PieceCache> cache;
  if (text.size() >= kCacheFrom) cache = std::make_unique<PieceCache>();
  encode_ordinary(text, out, cache.get());
}

void BytePairEncoding::encode_ordinary(std::string_view text, std::vector<uint32_t>& out, PieceCache* cache) const {
  constexpr size_t kBatch = 1024;
  size_t ends[kBatch];
  size_t pos = 0;
  const auto* base = reinterpret_cast<const unsigned char*>(text.data());
  while (pos < text.size()) {
    const size_t count = split_pieces(pattern_, text, pos, ends, kBatch);
    for (size_t k = 0; k < count; ++k) {
      const unsigned char* p = base + pos;
      const size_t n = ends[k] - pos;
      pos = ends[k];
      if (n == 1) {
        out.push_back(table_.byte_rank(p[0]));
        continue;
      }
      if (!cache || n > PieceCache::kMaxBytes) {
        encode_piece(std::string_view(reinterpret_cast<const char*>(p), n), out);
        continue;
      }
      const uint64_t hash = hash_bytes(p, n, head_bytes(p, n));
      uint32_t tokens[PieceCache::kMaxTokens];
      if (const size_t hit = cache->lookup(p, n, hash, tokens)) {
        out.insert(out.end(), tokens, tokens + hit);
        continue;
      }
      const size_t before = out.size();
      encode_piece(std::string_view(reinterpret_cast<const char*>(p), n), out);
      if (out.size() - before <= PieceCache::kMaxTokens)
        cache->store(p, n, hash, out.data() + before, out.size() - before);
    }
  }
}

void BytePairEncoding::encode_ordinary_parallel(std::string_view text, int threads,
                                                std::vector<uint32_t>& out) const {
  // Cut at independent boundaries near equal shares; each chunk is encoded alone.
  const size_t chunks_wanted = std::min<size_t>(size_t(threads) * 4, text.size() / (kParallelBytes / 4) + 1);
  std::vector<size_t> cuts{0};
  for (size_t k = 1; k < chunks_wanted; ++k) {
    size_t p = std::max(cuts.back() + 1, text.size() * k / chunks_wanted);
    while (p < text.size() && !is_independent_boundary(text, p)) ++p;
    if (p >= text.size()) break;
    cuts.push_back(p);
  }
  cuts.push_back(text.size());
  const size_t chunks = cuts.size() - 1;
  std::vector<std::vector<uint32_t>> parts(chunks);
  FirstError error;  // an exception (bad_alloc, Error) is rethrown after the region, never inside it
#pragma omp parallel num_threads(threads)
  {
    PieceCache cache;  // one per thread, warm across its chunks
#pragma omp for schedule(dynamic, 1)
    for (size_t c = 0; c < chunks; ++c) error.run([&] {
      parts[c].reserve((cuts[c + 1] - cuts[c]) / 3);
      encode_ordinary(text.substr(cuts[c], cuts[c + 1] - cuts[c]), parts[c], &cache);
    });
  }
  error.rethrow();
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
}

std::vector<uint32_t> BytePairEncoding::encode(std::string_view text, SpecialMode mode, int threads) const {
  const size_t bad = find_invalid_utf8(text);
  ROTOR_CHECK(bad == text.size(), name_, ": input is not valid UTF-8 at byte offset ", bad, " (byte 0x",
              std::hex, unsigned(static_cast<unsigned char>(text[bad])), ")");
  if (threads <= 0) threads = num_threads();
  std::vector<uint32_t> out;
  out.reserve(text.size() / 4 + 16);
  auto encode_segment = [&](std::string_view segment) {
    if (threads > 1 && segment.size() >= kParallelBytes) encode_ordinary_parallel(segment, threads, out);
    else encode_ordinary(segment, out);
  };
  if (mode == SpecialMode::kAsText || specials_.empty()) {
    encode_segment(text);
    return out;
  }
  // Next occurrence of each special token at or after `from`.
  std::vector<size_t> next(specials_.size());
  auto refresh = [&](size_t from) {
    for (size_t k = 0; k < specials_.size(); ++k)
      if (next[k] < from || from == 0) next[k] = text.find(specials_[k].text, from);
  };
  refresh(0);
  size_t pos = 0;
  for (;;) {
    size_t best = specials_.size();
    for (size_t k = 0; k < specials_.size(); ++k) {
      if (next[k] == std::string_view::npos) continue;
      if (best == specials_.size() || next[k] < next[best] ||
          (next[k] == next[best] && specials_[k].text.size() > specials_[best].text.size()))
        best = k;
    }
    if (best == specials_.size()) break;
    const size_t at = next[best];
    ROTOR_CHECK(mode == SpecialMode::kAllow, name_, ": the text contains the special token ",
                specials_[best].text, " at byte offset ", at,
                " (allow it with --allow-special, or encode it as text with --special-as-text)");
    encode_segment(text.substr(pos, at - pos));
    out.push_back(specials_[best].id);
    pos = at + specials_[best].text.size();
    refresh(pos);
  }
  encode_segment(text.substr(pos));
  return out;
}

std::string BytePairEncoding::decode(std::span<const uint32_t> ids) const {
  std::string out;
  for (const uint32_t id : ids) {
    if (table_.contains(id)) {
      out += table_.bytes(id);
      continue;
    }
    const auto special = std::find_if(specials_.begin(), specials_.end(),
                                      [id](const SpecialToken& s) { return s.id == id; });
    ROTOR_CHECK(special != specials_.end(), name_, ": token id ", id, " is not in the vocabulary (",
                table_.size(), " tokens, ", specials_.size(), " special, ids below ", vocab_size_, ")");
    out += special->text;
  }
  return out;
}

}  // namespace rotor::text
