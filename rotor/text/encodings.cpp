#include "rotor/text/encodings.h"

#include <cstdlib>
#include <filesystem>

#include "rotor/core/error.h"

#ifndef ROTOR_INSTALLED_DATA_DIR
#define ROTOR_INSTALLED_DATA_DIR ""
#endif

namespace rotor::text {

namespace {

const std::vector<EncodingSpec>& specs() {
  static const std::vector<EncodingSpec> all = {
      {"gpt2", "r50k_base.tiktoken", SplitPattern::kGpt2, {{"<|endoftext|>", 50256}}},
      {"r50k_base", "r50k_base.tiktoken", SplitPattern::kGpt2, {{"<|endoftext|>", 50256}}},
      {"p50k_base", "p50k_base.tiktoken", SplitPattern::kGpt2, {{"<|endoftext|>", 50256}}},
      {"p50k_edit",
       "p50k_base.tiktoken",
       SplitPattern::kGpt2,
       {{"<|endoftext|>", 50256}, {"<|fim_prefix|>", 50281}, {"<|fim_middle|>", 50282}, {"<|fim_suffix|>", 50283}}},
      {"cl100k_base",
       "cl100k_base.tiktoken",
       SplitPattern::kCl100k,
       {{"<|endoftext|>", 100257},
        {"<|fim_prefix|>", 100258},
        {"<|fim_middle|>", 100259},
        {"<|fim_suffix|>", 100260},
        {"<|endofprompt|>", 100276}}},
      {"o200k_base", "o200k_base.tiktoken", SplitPattern::kO200k,
       {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}}},
  };
  return all;
}

}  // namespace

std::vector<std::string> encoding_names() {
  std::vector<std::string> names;
  for (const auto& spec : specs()) names.push_back(spec.name);
  return names;
}

const EncodingSpec& encoding_spec(const std::string& name) {
  for (const auto& spec : specs())
    if (spec.name == name) return spec;
  std::string known;
  for (const auto& spec : specs()) known += (known.empty() ? "" : ", ") + spec.name;
  throw Error(cat("unknown encoding '", name, "' (known: ", known, ")"));
}

std::string tiktoken_data_dir() {
  if (const char* env = std::getenv("ROTOR_DATA_DIR"); env && *env) return std::string(env) + "/tiktoken";
  return std::string(ROTOR_INSTALLED_DATA_DIR) + "/tiktoken";
}

std::string locate_rank_file(const EncodingSpec& spec) {
  const std::string dir = tiktoken_data_dir();
  const std::string path = dir + "/" + spec.rank_file;
  ROTOR_CHECK(std::filesystem::is_regular_file(path), "encoding ", spec.name, ": rank file '", path,
              "' not found (run scripts/setup.sh, set ROTOR_DATA_DIR to a directory with a tiktoken/ "
              "subdirectory, or pass --ranks FILE)");
  return path;
}

std::unique_ptr<BytePairEncoding> load_encoding(const std::string& name,
                                                const std::optional<std::string>& ranks_path) {
  const EncodingSpec& spec = encoding_spec(name);
  const std::string path = ranks_path ? *ranks_path : locate_rank_file(spec);
  const auto ranks = load_tiktoken_ranks(path);
  return std::make_unique<BytePairEncoding>(spec.name, ranks, spec.pattern, spec.specials);
}

}  // namespace rotor::text
