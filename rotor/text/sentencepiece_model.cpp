#include "rotor/text/sentencepiece_model.h"

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/text/protobuf_wire.h"

namespace rotor::text {

namespace {

using Wire = ProtobufReader::WireType;

SentencePieceModel::Piece parse_piece(std::string_view data, const std::string& what) {
  ProtobufReader in(data, what);
  SentencePieceModel::Piece piece;
  while (!in.done()) {
    Wire type;
    const uint32_t field = in.next_field(type);
    if (field == 1) {
      in.expect(type, Wire::kLengthDelimited, field);
      piece.text = std::string(in.bytes());
    } else if (field == 2) {
      in.expect(type, Wire::kFixed32, field);
      piece.score = in.fixed32_float();
    } else if (field == 3) {
      in.expect(type, Wire::kVarint, field);
      const uint64_t t = in.varint();
      ROTOR_CHECK(t >= 1 && t <= 6, what, ": unknown piece type ", t);
      piece.type = static_cast<SentencePieceModel::PieceType>(t);
    } else {
      in.skip(type);
    }
  }
  return piece;
}

void parse_trainer_spec(std::string_view data, const std::string& what, SentencePieceModel& model) {
  ProtobufReader in(data, what);
  while (!in.done()) {
    Wire type;
    const uint32_t field = in.next_field(type);
    switch (field) {
      case 3: {  // model_type
        in.expect(type, Wire::kVarint, field);
        const uint64_t t = in.varint();
        ROTOR_CHECK(t >= 1 && t <= 4, what, ": unknown model type ", t);
        model.type = static_cast<SentencePieceModel::Type>(t);
        break;
      }
      case 24: in.expect(type, Wire::kVarint, field); model.treat_whitespace_as_suffix = in.varint() != 0; break;
      case 26: in.expect(type, Wire::kVarint, field); model.allow_whitespace_only_pieces = in.varint() != 0; break;
      case 35: in.expect(type, Wire::kVarint, field); model.byte_fallback = in.varint() != 0; break;
      case 40: in.expect(type, Wire::kVarint, field); model.unk_id = static_cast<int>(in.varint()); break;
      case 44: in.expect(type, Wire::kLengthDelimited, field); model.unk_surface = std::string(in.bytes()); break;
      default: in.skip(type);
    }
  }
}

void parse_normalizer_spec(std::string_view data, const std::string& what, SentencePieceModel& model) {
  ProtobufReader in(data, what);
  while (!in.done()) {
    Wire type;
    const uint32_t field = in.next_field(type);
    switch (field) {
      case 1: in.expect(type, Wire::kLengthDelimited, field); model.normalizer_name = std::string(in.bytes()); break;
      case 2: in.expect(type, Wire::kLengthDelimited, field); model.precompiled_charsmap = std::string(in.bytes()); break;
      case 3: in.expect(type, Wire::kVarint, field); model.add_dummy_prefix = in.varint() != 0; break;
      case 4: in.expect(type, Wire::kVarint, field); model.remove_extra_whitespaces = in.varint() != 0; break;
      case 5: in.expect(type, Wire::kVarint, field); model.escape_whitespaces = in.varint() != 0; break;
      case 6:  // normalization_rule_tsv: only used when training
      default: in.skip(type);
    }
  }
}

}  // namespace

SentencePieceModel parse_sentencepiece_model(std::string_view data, const std::string& source) {
  SentencePieceModel model;
  ProtobufReader in(data, source);
  bool has_normalizer = false;
  while (!in.done()) {
    Wire type;
    const uint32_t field = in.next_field(type);
    if (field == 1) {
      in.expect(type, Wire::kLengthDelimited, field);
      model.pieces.push_back(parse_piece(in.bytes(), cat(source, ": piece ", model.pieces.size())));
    } else if (field == 2) {
      in.expect(type, Wire::kLengthDelimited, field);
      parse_trainer_spec(in.bytes(), source + ": trainer_spec", model);
    } else if (field == 3) {
      in.expect(type, Wire::kLengthDelimited, field);
      parse_normalizer_spec(in.bytes(), source + ": normalizer_spec", model);
      has_normalizer = true;
    } else {
      in.skip(type);  // self-test data, denormalizer
    }
  }
  ROTOR_CHECK(!model.pieces.empty(), source, ": no pieces (not a sentencepiece model?)");
  ROTOR_CHECK(has_normalizer, source, ": no normalizer_spec (not a sentencepiece model?)");
  ROTOR_CHECK(model.unk_id >= 0 && size_t(model.unk_id) < model.pieces.size() &&
                  model.pieces[model.unk_id].type == SentencePieceModel::PieceType::kUnknown,
              source, ": unk_id ", model.unk_id, " is not an unknown-type piece");
  for (size_t i = 0; i < model.pieces.size(); ++i)
    ROTOR_CHECK(!model.pieces[i].text.empty(), source, ": piece ", i, " is empty");
  return model;
}

SentencePieceModel load_sentencepiece_model(const std::string& path) {
  return parse_sentencepiece_model(io::read_file(path), path);
}

}  // namespace rotor::text
