// libFuzzer target: arbitrary bytes through the word2vec vector-file reader (both formats and the
// detection). Any input must either parse or throw rotor::Error; a parsed file must round-trip.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "rotor/core/error.h"
#include "rotor/models/word2vec_vectors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  using rotor::w2v::VectorFormat;
  for (int mode = 0; mode < 3; ++mode) {
    try {
      const rotor::w2v::WordVectors v =
          mode == 0 ? rotor::w2v::parse_vectors(bytes, "fuzz")
                    : rotor::w2v::parse_vectors(bytes, "fuzz", mode == 1 ? VectorFormat::kText : VectorFormat::kBinary);
      const auto format = mode == 1 ? VectorFormat::kText : VectorFormat::kBinary;
      const rotor::w2v::WordVectors back = rotor::w2v::parse_vectors(rotor::w2v::format_vectors(v, format), "again", format);
      if (back.words != v.words || back.values.size() != v.values.size() ||
          std::memcmp(back.values.data(), v.values.data(), v.values.size() * sizeof(float)) != 0)
        __builtin_trap();
    } catch (const rotor::Error&) {
    }
  }
  return 0;
}
