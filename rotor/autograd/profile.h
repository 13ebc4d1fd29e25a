#pragma once
// Per-op timing of autograd, switched on by the environment variable ROTOR_PROFILE=1 (read once).
// Forward time of an op is the time since the previous op was recorded in this thread (its kernel plus
// the glue in between); backward time is the node's backward call, measured exactly. Costs nothing
// measurable when off. Times accumulate until profile_reset(); profile_report() prints a table, e.g.
//   op               calls/step  fwd ms/step  bwd ms/step  total %
//   linear                  3.0        2.110        4.020     71.3
#include <string>

namespace rotor::autograd {

bool profile_enabled();
void profile_forward(const char* op);                 // called by record()
void profile_backward(const std::string& op, double seconds);  // called by the backward engine
double profile_now();                                 // seconds, monotonic
void profile_reset();
// Prints the table to stderr, dividing by `steps` (when enabled; otherwise nothing).
void profile_report(const char* title, int steps);

}  // namespace rotor::autograd
