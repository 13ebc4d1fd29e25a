#pragma once
// SentencePieceProcessor: encodes and decodes like sentencepiece's spm_encode / spm_decode (ids, no
// sampling) for BPE, unigram, char and word models: normalization as the model specifies, the model's
// segmentation (BPE: highest-score merges first, leftmost on ties; unigram: Viterbi over piece
// scores, unknown characters at the lowest score minus 10; char: characters; word: a word starts at
// each ▁), consecutive unknowns merged into one <unk>, and byte fallback (<0xXX> pieces) when the
// model has it; treat_whitespace_as_suffix too. Not supported (rejected with an error): word models
// with treat_whitespace_as_suffix.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rotor/text/sentencepiece_model.h"
#include "rotor/text/sentencepiece_normalizer.h"

namespace rotor::text {

class SentencePieceProcessor {
 public:
  explicit SentencePieceProcessor(SentencePieceModel model);

  // Ids of one line of text (without its newline), as spm_encode --output_format=id prints them.
  std::vector<uint32_t> encode(std::string_view line) const;
  // Text of ids, as spm_decode --input_format=id prints it; ids outside the vocabulary throw.
  std::string decode(std::span<const uint32_t> ids) const;

  std::string normalize(std::string_view line) const { return normalizer_.normalize(line); }
  size_t size() const { return model_.pieces.size(); }
  const SentencePieceModel& model() const { return model_; }

 private:
  using Segment = std::pair<std::string_view, int>;  // piece text (a view of the normalized text), id
  std::vector<Segment> encode_bpe(std::string_view normalized) const;
  std::vector<Segment> encode_unigram(std::string_view normalized) const;
  std::vector<Segment> encode_chars(std::string_view normalized) const;
  std::vector<Segment> encode_words(std::string_view normalized) const;
  int piece_id(std::string_view piece) const;  // unk_id when absent
  size_t user_defined_prefix(std::string_view text) const;

  SentencePieceModel model_;
  SentencePieceNormalizer normalizer_;
  std::unordered_map<std::string_view, int> pieces_;    // normal, user-defined and unused pieces
  std::unordered_map<std::string_view, int> reserved_;  // control, unknown and byte pieces
  // Every prefix of a piece in pieces_: its id when it is itself such a piece, else -1 (unigram search).
  std::unordered_map<std::string_view, int> prefixes_;
  std::vector<std::string> user_defined_;
  int byte_ids_[256];
  size_t max_piece_bytes_ = 0;
  float min_score_ = 0, max_score_ = 0;
};

}  // namespace rotor::text
