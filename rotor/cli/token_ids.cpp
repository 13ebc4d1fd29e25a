#include "rotor/cli/token_ids.h"

#include <climits>
#include <sstream>

#include "rotor/core/error.h"

namespace rotor::cli {

std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& option) {
  std::vector<int32_t> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    ROTOR_CHECK(used == item.size() && !item.empty(), option, ": '", item, "' is not an integer token id");
    ROTOR_CHECK(v >= 0 && v <= INT32_MAX, option, ": token id ", v, " is out of range");
    ids.push_back(static_cast<int32_t>(v));
  }
  ROTOR_CHECK(!ids.empty(), option, ": no token ids given");
  return ids;
}

}  // namespace rotor::cli
