#pragma once
// Comma-separated token ids on the command line (`--ids 72,101,108`).
#include <cstdint>
#include <string>
#include <vector>

namespace rotor::cli {

// Throws rotor::Error naming the option and the bad item.
std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& option = "--ids");

}  // namespace rotor::cli
