#pragma once
// The named tiktoken encodings (gpt2, r50k_base, p50k_base, p50k_edit, cl100k_base, o200k_base):
// their pre-tokenization pattern, special tokens and rank file, and where rank files are found.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rotor/text/byte_pair_encoding.h"

namespace rotor::text {

struct EncodingSpec {
  std::string name;
  std::string rank_file;  // file name, e.g. "cl100k_base.tiktoken"
  SplitPattern pattern;
  std::vector<SpecialToken> specials;
};

// Throws rotor::Error listing the known names when `name` is not one of them.
const EncodingSpec& encoding_spec(const std::string& name);
std::vector<std::string> encoding_names();

// Directory searched for rank files: $ROTOR_DATA_DIR/tiktoken if ROTOR_DATA_DIR is set, else the
// directory that scripts/setup.sh fills (data/tiktoken in the source tree).
std::string tiktoken_data_dir();
// Full path of a named encoding's rank file; throws a clear error when it does not exist.
std::string locate_rank_file(const EncodingSpec& spec);

// Loads a named encoding, from `ranks_path` when given, else from the data directory.
std::unique_ptr<BytePairEncoding> load_encoding(const std::string& name,
                                                const std::optional<std::string>& ranks_path = {});

}  // namespace rotor::text
