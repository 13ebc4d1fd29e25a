#pragma once
// A digest of a training table, compared when a checkpointed run resumes (boosting, forests), that does not
// depend on how the rows are split across ranks: per row a hash of its global index (row_offset + r), label,
// weight and values; the rows' hashes summed in two 32-bit halves (order-free, no overflow below 2^31
// rows), and summed over the ranks of rotor/dist when across_ranks.
#include <cstdint>
#include <string>

#include "rotor/io/table_reader.h"

namespace rotor::trees {

std::string table_digest(const io::Table& t, int64_t row_offset, bool across_ranks);

}  // namespace rotor::trees
