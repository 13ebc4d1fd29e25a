// libFuzzer target: arbitrary bytes into the NPY reader. Every input must either parse (and then
// re-serialise to a file that parses to the same tensor) or throw rotor::Error.
//   make fuzz && ./build-fuzz/bin/npy_fuzz -max_total_time=60 tests/fuzz/npy_corpus
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rotor/core/error.h"
#include "rotor/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const rotor::Tensor t = rotor::io::parse_npy(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    const rotor::Tensor again = rotor::io::parse_npy(rotor::io::serialize_npy(t));
    if (again.shape() != t.shape() || again.dtype() != t.dtype() ||
        std::string_view(static_cast<const char*>(again.raw_data()), again.nbytes()) !=
            std::string_view(static_cast<const char*>(t.raw_data()), t.nbytes()))
      std::abort();
  } catch (const rotor::Error&) {
  }
  return 0;
}
