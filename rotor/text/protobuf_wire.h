#pragma once
// ProtobufReader: a minimal reader of the protobuf wire format (varints, 32/64-bit fixed values and
// length-delimited fields), enough to read sentencepiece .model files without a protobuf dependency.
// Every read is bounds-checked; a truncated or malformed message throws rotor::Error naming `what`.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "rotor/core/error.h"

namespace rotor::text {

class ProtobufReader {
 public:
  enum WireType { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

  ProtobufReader(std::string_view data, std::string what) : data_(data), what_(std::move(what)) {}

  bool done() const { return pos_ >= data_.size(); }
  // Reads the next field's key; returns its number and sets its wire type.
  uint32_t next_field(WireType& type) {
    const uint64_t key = varint();
    type = static_cast<WireType>(key & 7);
    const uint64_t number = key >> 3;
    ROTOR_CHECK(number > 0 && number < (1u << 29), what_, ": malformed protobuf (field number ", number,
                " at byte ", pos_, ")");
    ROTOR_CHECK(type == kVarint || type == kFixed64 || type == kLengthDelimited || type == kFixed32, what_,
                ": malformed protobuf (wire type ", int(type), " at byte ", pos_, ")");
    return static_cast<uint32_t>(number);
  }
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      need(1);
      const uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
      value |= uint64_t(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return value;
    }
    throw Error(cat(what_, ": malformed protobuf (varint longer than 10 bytes at byte ", pos_, ")"));
  }
  std::string_view bytes() {
    const uint64_t length = varint();
    need(length);
    const std::string_view out = data_.substr(pos_, length);
    pos_ += length;
    return out;
  }
  float fixed32_float() {
    need(4);
    float value;
    std::memcpy(&value, data_.data() + pos_, 4);
    pos_ += 4;
    return value;
  }
  void skip(WireType type) {
    switch (type) {
      case kVarint: varint(); break;
      case kFixed64: need(8); pos_ += 8; break;
      case kLengthDelimited: bytes(); break;
      case kFixed32: need(4); pos_ += 4; break;
    }
  }
  // Checks that a field has the expected wire type.
  void expect(WireType type, WireType expected, uint32_t field) const {
    ROTOR_CHECK(type == expected, what_, ": malformed protobuf (field ", field, " has wire type ", int(type),
                ", expected ", int(expected), ")");
  }

 private:
  void need(uint64_t n) const {
    ROTOR_CHECK(n <= data_.size() - pos_, what_, ": truncated protobuf (needs ", n, " bytes at byte ", pos_,
                ", ", data_.size() - pos_, " left)");
  }
  std::string_view data_;
  std::string what_;
  size_t pos_ = 0;
};

}  // namespace rotor::text
