#pragma once
// generation_config.json of a Hugging Face directory: the sampling defaults `rotor sample` uses when its
// options are not given. Missing fields keep Hugging Face's defaults (do_sample false: greedy;
// temperature 1, top_p 1, top_k 50 when sampling). eos_token_id may be one id or a list, and falls back
// to config.json's.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rotor::models {

struct HfGenerationConfig {
  bool present = false;  // the file exists
  bool do_sample = false;
  double temperature = 1.0, top_p = 1.0;
  int64_t top_k = 50;
  std::optional<int64_t> max_new_tokens;
  std::vector<int32_t> eos_token_ids;
};

// Throws (naming the file) on malformed JSON or fields of the wrong type.
HfGenerationConfig read_hf_generation_config(const std::string& dir);

}  // namespace rotor::models
