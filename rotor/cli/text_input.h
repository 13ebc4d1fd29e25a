#pragma once
// Standard input and output helpers for the text commands: read all of stdin, parse and print
// whitespace-separated token ids.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rotor::cli {

std::string read_all_stdin();
// Parses whitespace-separated decimal ids; throws naming the offending word and its position.
std::vector<uint32_t> parse_ids(std::string_view text);
// Writes ids separated by spaces and a final newline (nothing for no ids but the newline).
void write_ids(const std::vector<uint32_t>& ids);
void write_stdout(std::string_view bytes);

}  // namespace rotor::cli
