// libFuzzer target: arbitrary bytes through the CSV and LibSVM readers (with and without header and
// label column). Any input must either parse into a consistent table or throw rotor::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rotor/core/error.h"
#include "rotor/io/table_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (int mode = 0; mode < 4; ++mode) {
    rotor::io::TableOptions options;
    options.label_column = mode == 1 ? -1 : 0;
    options.header = mode == 2 ? rotor::io::HeaderMode::kYes : rotor::io::HeaderMode::kAuto;
    try {
      const rotor::io::Table t = mode == 3 ? rotor::io::read_libsvm_text(text, "fuzz.svm", options)
                                           : rotor::io::read_csv_text(text, "fuzz.csv", options);
      if (t.rows < 0 || t.cols < 0 || t.values.size() != static_cast<size_t>(t.rows * t.cols) ||
          (!t.labels.empty() && t.labels.size() != static_cast<size_t>(t.rows)))
        __builtin_trap();
    } catch (const rotor::Error&) {
    }
  }
  return 0;
}
