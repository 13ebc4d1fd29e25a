#pragma once
// Helpers shared by the text tests: the installed encodings (loaded once) and the KJV text.
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "rotor/core/error.h"
#include "rotor/text/encodings.h"

namespace rotor::text::testing {

inline const BytePairEncoding& encoding(const std::string& name) {
  static std::map<std::string, std::unique_ptr<BytePairEncoding>> loaded;
  auto& slot = loaded[name];
  if (!slot) slot = load_encoding(name);
  return *slot;
}

// The King James Bible as printed by Debian's bible-kjv (`bible "gen1:1-rev22:21"`).
inline const std::string& kjv_text() {
  static const std::string text = [] {
    std::FILE* pipe = ::popen("bible \"gen1:1-rev22:21\"", "r");
    ROTOR_CHECK(pipe, "cannot run the bible program (Debian package bible-kjv)");
    std::string out;
    char buffer[1 << 16];
    size_t got;
    while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, got);
    ROTOR_CHECK(::pclose(pipe) == 0 && out.size() > 4000000, "bible-kjv output is missing or short");
    return out;
  }();
  return text;
}

inline std::string source_path(const std::string& relative) {
  return std::string(ROTOR_SOURCE_DIR) + "/" + relative;
}

}  // namespace rotor::text::testing
