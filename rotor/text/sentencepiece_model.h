#pragma once
// SentencePieceModel: the parts of a sentencepiece .model file (a ModelProto) that encoding and
// decoding need: the pieces with scores and types, the model type, byte fallback, the special ids, and
// the normalizer settings (including the precompiled character map).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rotor::text {

struct SentencePieceModel {
  enum class Type { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };
  enum class PieceType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };
  struct Piece {
    std::string text;
    float score = 0;
    PieceType type = PieceType::kNormal;
  };

  std::vector<Piece> pieces;
  Type type = Type::kUnigram;
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  bool allow_whitespace_only_pieces = false;  // word models: a run of spaces is one piece
  int unk_id = 0;
  std::string unk_surface = " \xE2\x81\x87 ";
  // Normalizer (NormalizerSpec).
  std::string normalizer_name;
  std::string precompiled_charsmap;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// Parses a .model file's contents; throws rotor::Error (naming `source`) for truncated or malformed
// protobuf, missing pieces, or settings this reader does not support.
SentencePieceModel parse_sentencepiece_model(std::string_view data, const std::string& source);
SentencePieceModel load_sentencepiece_model(const std::string& path);

}  // namespace rotor::text
