#include "rotor/cli/kjv_text.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::cli {

namespace fs = std::filesystem;

// The KJV text, extracted with `bible` into $XDG_CACHE_HOME/rotor/kjv.txt (or ~/.cache/rotor/kjv.txt).
std::string kjv_text_path() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string dir = xdg && *xdg ? std::string(xdg) + "/rotor" : std::string(home ? home : ".") + "/.cache/rotor";
  const std::string path = dir + "/kjv.txt";
  if (fs::exists(path) && fs::file_size(path) > 0) return path;
  fs::create_directories(dir);
  std::FILE* pipe = popen("bible \"gen1:1-rev22:21\" 2>/dev/null", "r");
  ROTOR_CHECK(pipe != nullptr, "cannot run the `bible` program (install Debian's bible-kjv: scripts/setup.sh)");
  std::string text;
  char buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, pipe)) > 0) text.append(buf, got);
  const int status = pclose(pipe);
  ROTOR_CHECK(status == 0 && text.size() > 1000000,
              "extracting the King James text with `bible` failed (install Debian's bible-kjv: scripts/setup.sh)");
  io::write_file_atomic(path, text);
  return path;
}

}  // namespace rotor::cli
