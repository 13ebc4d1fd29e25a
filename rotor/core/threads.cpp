#include "rotor/core/threads.h"

#include <omp.h>

#include <cstdlib>
#include <string>

#include "rotor/core/error.h"

namespace rotor {

int default_num_threads() {
  if (const char* env = std::getenv("ROTOR_NUM_THREADS"); env && *env) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    ROTOR_CHECK(end && *end == '\0' && n > 0 && n <= 4096, "ROTOR_NUM_THREADS='", env,
                "' is not a positive thread count");
    return static_cast<int>(n);
  }
  return omp_get_num_procs();
}

int num_threads() { return omp_get_max_threads(); }

void set_num_threads(int n) { omp_set_num_threads(n > 0 ? n : default_num_threads()); }

}  // namespace rotor
