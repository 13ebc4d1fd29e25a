#pragma once
// StopSignals: while one is alive, SIGINT and SIGTERM do not end the process but are recorded, and a
// long job polls received() between units of work (rotor train: between steps) to finish the unit, save
// what it has and exit with 128 + the signal number (rotor::Interrupted). A second signal ends the
// process at once, as without the handler. The record is the one piece of process-wide state a signal
// handler can reach; destruction restores the previous handlers. A signal the process inherited as
// ignored stays ignored.
#include <csignal>

namespace rotor::cli {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int received() const;  // the first signal received (SIGINT or SIGTERM), or 0

 private:
  struct sigaction previous_int_{}, previous_term_{};
};

const char* signal_name(int signal);  // "SIGINT", "SIGTERM", ...

}  // namespace rotor::cli
