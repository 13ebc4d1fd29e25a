// libFuzzer target: arbitrary bytes as a run directory's config.json and as its training_state.json (the
// checkpoint state of rotor/io/checkpoint.h: step, generator, "files" fingerprints, extra.options and
// extra.data). Any JSON must either be accepted or throw rotor::Error (as `rotor train --resume` reports it).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>

#include "rotor/core/error.h"
#include "rotor/io/checkpoint.h"
#include "rotor/models/lm_trainer.h"
#include "rotor/models/transformer_config.h"

namespace {

template <class F>
void accepted_or_error(F&& f) {
  try {
    f();
  } catch (const rotor::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  accepted_or_error([&] { (void)rotor::models::config_from_json(j, "fuzz/config.json"); });
  accepted_or_error([&] {
    nlohmann::json state = j;
    if (state.is_object()) state.erase("files");
    (void)rotor::io::training_state_from_json(state, "fuzz/training_state.json");
  });
  const bool has_extra = j.is_object() && j.contains("extra") && j["extra"].is_object();
  accepted_or_error([&] {
    (void)rotor::models::train_options_from_json(
        has_extra && j["extra"].contains("options") ? j["extra"]["options"] : j, "fuzz/training_state.json");
  });
  if (has_extra && j["extra"].contains("data"))
    accepted_or_error([&] { (void)rotor::io::fingerprint_from_json(j["extra"]["data"], "fuzz: extra.data"); });
  if (j.is_object() && j.contains("files") && j["files"].is_object())
    for (const auto& [name, f] : j["files"].items())
      accepted_or_error([&] { (void)rotor::io::fingerprint_from_json(f, "fuzz: files"); });
  return 0;
}
