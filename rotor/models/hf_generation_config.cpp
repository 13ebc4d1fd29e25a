#include "rotor/models/hf_generation_config.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::models {
namespace {

using nlohmann::json;

json read_object(const std::string& path) {
  json j = json::parse(io::read_file(path), nullptr, /*allow_exceptions=*/false);
  ROTOR_CHECK(!j.is_discarded() && j.is_object(), path, ": not a JSON object");
  return j;
}

// eos_token_id as one id or a list of ids (null: none).
std::vector<int32_t> eos_ids(const json& j, const std::string& path) {
  std::vector<int32_t> out;
  if (!j.contains("eos_token_id") || j["eos_token_id"].is_null()) return out;
  const json& v = j["eos_token_id"];
  auto add = [&](const json& x) {
    ROTOR_CHECK(x.is_number_integer() && x.get<int64_t>() >= 0, path, ": eos_token_id must be ids, got ", v.dump());
    out.push_back(x.get<int32_t>());
  };
  if (v.is_array()) for (const json& x : v) add(x);
  else add(v);
  return out;
}

}  // namespace

HfGenerationConfig read_hf_generation_config(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  HfGenerationConfig g;
  const std::string path = (fs::path(dir) / "generation_config.json").string();
  const std::string config = (fs::path(dir) / "config.json").string();
  if (fs::is_regular_file(config, ec)) g.eos_token_ids = eos_ids(read_object(config), config);
  if (!fs::is_regular_file(path, ec)) return g;
  const json j = read_object(path);
  g.present = true;
  auto number = [&](const char* key, double& out) {
    if (!j.contains(key) || j[key].is_null()) return;
    ROTOR_CHECK(j[key].is_number(), path, ": ", key, " must be a number, got ", j[key].dump());
    out = j[key].get<double>();
  };
  if (j.contains("do_sample") && !j["do_sample"].is_null()) {
    ROTOR_CHECK(j["do_sample"].is_boolean(), path, ": do_sample must be true or false");
    g.do_sample = j["do_sample"].get<bool>();
  }
  number("temperature", g.temperature);
  number("top_p", g.top_p);
  double top_k = static_cast<double>(g.top_k);
  number("top_k", top_k);
  g.top_k = static_cast<int64_t>(top_k);
  if (j.contains("max_new_tokens") && !j["max_new_tokens"].is_null()) {
    ROTOR_CHECK(j["max_new_tokens"].is_number_integer(), path, ": max_new_tokens must be an integer");
    g.max_new_tokens = j["max_new_tokens"].get<int64_t>();
  }
  if (j.contains("eos_token_id")) g.eos_token_ids = eos_ids(j, path);
  return g;
}

}  // namespace rotor::models
