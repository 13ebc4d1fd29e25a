// libFuzzer target: arbitrary bytes as a forest model JSON (the tree-model reader shared by the CART
// ensembles). Any input must either load, and then predict one row of zeros without crashing, or throw
// rotor::Error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/core/error.h"
#include "rotor/trees/forest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const rotor::trees::ForestModel model = rotor::trees::forest_from_json_text(text, "fuzz.json");
    if (model.num_feature < 0 || model.num_feature > (1 << 20)) __builtin_trap();
    const std::vector<float> row(static_cast<size_t>(model.num_feature), 0.0f);
    (void)model.predict(row.data(), 1);
  } catch (const rotor::Error&) {
  }
  return 0;
}
