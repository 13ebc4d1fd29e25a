#pragma once
// Byte-level BPE training, tiktoken style: the corpus is pre-tokenized with one of tiktoken's patterns,
// distinct pieces are counted (in parallel, with a result independent of the thread count), and the
// most frequent adjacent pair of tokens is merged repeatedly. The rank of a token is its merge order
// (the 256 single bytes first, byte b at rank b), so the output loads in BytePairEncoding directly.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rotor/text/pretokenizer.h"
#include "rotor/text/rank_file.h"

namespace rotor::text {

struct BpeTrainOptions {
  size_t vocab_size = 0;       // ordinary tokens, the 256 bytes included (specials are extra)
  SplitPattern pattern = SplitPattern::kCl100k;
  uint64_t min_frequency = 2;  // pairs seen fewer times are not merged
  int threads = 1;
};

// Distinct pieces of the texts with their counts.
using PieceCounts = std::unordered_map<std::string, uint64_t>;
PieceCounts count_pieces(const std::vector<std::string_view>& texts, SplitPattern pattern, int threads);

// Learns merges until vocab_size tokens exist or no pair reaches min_frequency. Ties between equally
// frequent pairs go to the pair of lower token ids, so the result is deterministic. `progress` (may be
// empty) is called now and then with the number of tokens so far.
std::vector<RankedToken> train_bpe(const PieceCounts& pieces, const BpeTrainOptions& options,
                                   const std::function<void(size_t)>& progress = {});

}  // namespace rotor::text
