// libFuzzer target: arbitrary bytes through the rank-file reader, the sentencepiece model reader, the
// pre-tokenizers and the BPE encoder/decoder. Checks: no crash; valid UTF-8 encodes and decodes back
// to itself on every pattern; pieces tile the text; invalid UTF-8 and malformed rank files fail with
// rotor::Error only.
// Build with `make fuzz`; run e.g. build-fuzz/bin/tokenizer_fuzz -max_total_time=60 tests/fuzz/corpus
// (libFuzzer adds the inputs it finds to that directory; copy it elsewhere to keep the tree clean).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rotor/core/error.h"
#include "rotor/text/byte_pair_encoding.h"
#include "rotor/text/rank_file.h"
#include "rotor/text/sentencepiece_processor.h"
#include "rotor/text/unicode_class.h"

namespace {

using namespace rotor::text;

// A small vocabulary: the 256 bytes plus some merges over ASCII and a multi-byte character.
const BytePairEncoding& encoding(SplitPattern pattern) {
  static std::unique_ptr<BytePairEncoding> cache[3];
  auto& slot = cache[static_cast<int>(pattern)];
  if (!slot) {
    std::vector<RankedToken> tokens;
    for (uint32_t b = 0; b < 256; ++b) tokens.push_back({std::string(1, char(b)), b});
    for (const char* merged : {"th", "he", "the", " t", " the", "in", "ing", "  ", "    ", "\xC3\xA9", "'s", "12", "123"})
      tokens.push_back({merged, static_cast<uint32_t>(tokens.size())});
    slot = std::make_unique<BytePairEncoding>("fuzz", tokens, pattern,
                                              std::vector<SpecialToken>{{"<|endoftext|>", 1000}});
  }
  return *slot;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // 1. The rank-file reader must either parse or throw rotor::Error.
  try {
    const auto tokens = parse_tiktoken_ranks(input, "fuzz");
    if (format_tiktoken_ranks(tokens).empty()) std::abort();
  } catch (const rotor::Error&) {
  }
  // 1b. So must the sentencepiece model reader (and a model it accepts must encode and decode).
  try {
    const SentencePieceProcessor sp(parse_sentencepiece_model(input, "fuzz"));
    const auto ids = sp.encode("some text \xC3\xA9");
    sp.decode(ids);
  } catch (const rotor::Error&) {
  }
  // 2. Encode/decode on every pattern.
  const bool valid = find_invalid_utf8(input) == input.size();
  for (SplitPattern pattern : {SplitPattern::kGpt2, SplitPattern::kCl100k, SplitPattern::kO200k}) {
    const auto& bpe = encoding(pattern);
    for (SpecialMode mode : {SpecialMode::kAsText, SpecialMode::kAllow, SpecialMode::kError}) {
      try {
        const auto ids = bpe.encode(input, mode, 1);
        if (!valid) std::abort();  // invalid UTF-8 must be rejected
        if (bpe.decode(ids) != input) std::abort();
      } catch (const rotor::Error&) {
        if (valid && mode != SpecialMode::kError) std::abort();
      }
    }
    if (valid) {
      std::vector<size_t> ends(size + 1);
      const size_t count = split_pieces(pattern, input, 0, ends.data(), ends.size());
      if (size > 0 && (count == 0 || ends[count - 1] != size)) std::abort();
      for (size_t k = 1; k < count; ++k)
        if (ends[k] <= ends[k - 1]) std::abort();
    }
  }
  // 3. Decoding arbitrary ids: known ones decode, unknown ones throw.
  std::vector<uint32_t> ids;
  for (size_t i = 0; i + 2 <= size; i += 2) ids.push_back(uint32_t(data[i]) | (uint32_t(data[i + 1]) << 8));
  try {
    encoding(SplitPattern::kCl100k).decode(ids);
  } catch (const rotor::Error&) {
  }
  return 0;
}
