#include "rotor/cli/stop_signals.h"

#include <cstring>
#include <utility>

namespace rotor::cli {

namespace {

volatile std::sig_atomic_t g_received = 0;

void record_signal(int signal) {
  if (g_received == 0) {
    g_received = signal;
    return;
  }
  std::signal(signal, SIG_DFL);  // the second signal: end the process as if no handler were installed
  std::raise(signal);
}

}  // namespace

StopSignals::StopSignals() {
  g_received = 0;
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads and writes in progress continue
  // a signal the process was started ignoring (nohup, a background job of a script) stays ignored
  for (auto [signal, previous] : {std::pair{SIGINT, &previous_int_}, std::pair{SIGTERM, &previous_term_}}) {
    sigaction(signal, nullptr, previous);
    if (previous->sa_handler != SIG_IGN) sigaction(signal, &action, nullptr);
  }
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
}

int StopSignals::received() const { return g_received; }

const char* signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
  }
}

}  // namespace rotor::cli
