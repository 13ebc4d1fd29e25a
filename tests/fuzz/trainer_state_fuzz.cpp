// libFuzzer target: arbitrary bytes as a run directory's config.json and as trainer_state.json's
// "options". Any JSON must either be accepted or throw rotor::Error (as `rotor train --resume` reports it).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>

#include "rotor/core/error.h"
#include "rotor/models/lm_trainer.h"
#include "rotor/models/transformer_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    (void)rotor::models::config_from_json(j, "fuzz/config.json");
  } catch (const rotor::Error&) {
  }
  try {
    (void)rotor::models::train_options_from_json(j.is_object() && j.contains("options") ? j["options"] : j,
                                                 "fuzz/trainer_state.json");
  } catch (const rotor::Error&) {
  }
  return 0;
}
