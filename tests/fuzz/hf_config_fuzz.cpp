// libFuzzer target: arbitrary bytes as a Hugging Face LLaMA config.json. Any JSON must either be accepted
// or throw rotor::Error (never a raw nlohmann type error or a crash); non-JSON is the caller's error.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>

#include "rotor/core/error.h"
#include "rotor/models/hf_llama_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    (void)rotor::models::parse_hf_llama_config(j, "fuzz/config.json");
  } catch (const rotor::Error&) {
  }
  return 0;
}
