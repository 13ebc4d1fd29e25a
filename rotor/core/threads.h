#pragma once
// Thread-count settings for the one OpenMP pool. The count comes from --threads, else the
// ROTOR_NUM_THREADS environment variable, else all cores.
namespace rotor {

int num_threads();                  // the current setting
void set_num_threads(int n);        // n <= 0 means "all cores"; throws on an unparsable environment value
int default_num_threads();          // ROTOR_NUM_THREADS or the number of cores

// Loops below this many units of work run serially (units are roughly "elements touched").
constexpr long kParallelThreshold = 1L << 15;

}  // namespace rotor
