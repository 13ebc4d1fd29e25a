// libFuzzer target: arbitrary bytes into the safetensors parser (from memory). Every input must either
// parse, with every supported tensor loadable and the file re-serialisable to an equal image, or throw
// rotor::Error. Anything else (a crash, an ASan report, another exception type) is a finding.
//   make fuzz && ./build-fuzz/bin/safetensors_fuzz -max_total_time=120 tests/fuzz/corpus
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rotor/core/error.h"
#include "rotor/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rotor::io;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const SafetensorsFile file = SafetensorsFile::from_bytes(bytes, "fuzz");
    TensorMap tensors;
    for (const SafetensorsEntry& e : file.entries()) {
      try {
        tensors.emplace(e.name, file.load(e.name));
      } catch (const rotor::Error&) {  // recognised but unsupported dtype
        return 0;
      }
    }
    // A valid file round-trips: serialising what was read gives a file with the same tensors.
    const SafetensorsFile again = SafetensorsFile::from_bytes(serialize_safetensors(tensors, file.metadata()));
    if (again.metadata() != file.metadata() || again.names() != file.names()) std::abort();
    for (const auto& [name, tensor] : tensors) {
      const rotor::Tensor other = again.load(name);
      if (other.shape() != tensor.shape() || other.dtype() != tensor.dtype() ||
          std::string_view(static_cast<const char*>(other.raw_data()), other.nbytes()) !=
              std::string_view(static_cast<const char*>(tensor.raw_data()), tensor.nbytes()))
        std::abort();
    }
  } catch (const rotor::Error&) {
  }
  return 0;
}
