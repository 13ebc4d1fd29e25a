#pragma once
// rotor::Error: the one exception type of the library. Its message names the thing and the values,
// e.g. "linear: input has 300 features, weight expects 256". The command-line program prints it as
// "rotor: error: <message>" and exits non-zero.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace rotor {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Interrupted: a job stopped by a signal (SIGINT, SIGTERM) after saving what it had. The program prints
// "rotor: error: <message>" and exits with 128 + the signal number, as a process the signal ended would.
class Interrupted : public Error {
 public:
  Interrupted(int signal, const std::string& message) : Error(message), signal_(signal) {}
  int exit_code() const { return 128 + signal_; }

 private:
  int signal_;
};

// Build a message from pieces: throw Error(cat("linear: input has ", n, " features")).
template <class... Parts>
std::string cat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

}  // namespace rotor

// Check a condition that depends on input; throws rotor::Error with the streamed message.
#define ROTOR_CHECK(cond, ...)                              \
  do {                                                      \
    if (!(cond)) throw ::rotor::Error(::rotor::cat(__VA_ARGS__)); \
  } while (0)
