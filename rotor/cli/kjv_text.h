#pragma once
// The King James Bible, the default text of `rotor train` and `rotor finetune`.
#include <string>

namespace rotor::cli {

// The KJV text, extracted once with the `bible` program of Debian's bible-kjv package into
// $XDG_CACHE_HOME/rotor/kjv.txt (or ~/.cache/rotor/kjv.txt); returns that path. Throws when `bible` is missing.
std::string kjv_text_path();

}  // namespace rotor::cli
