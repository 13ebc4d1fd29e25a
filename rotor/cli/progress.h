#pragma once
// Progress: a one-line progress display on stderr for long work (training rounds, epochs, steps).
// On a terminal it redraws in place; otherwise it prints a line at most every few seconds, so logs
// stay readable. The caller supplies the metrics text ("loss 2.31  tokens/s 12000").
#include <chrono>
#include <cstdint>
#include <string>

namespace rotor::cli {

class Progress {
 public:
  Progress(std::string label, int64_t total);
  // Report that `done` of `total` units are finished, with a free-form metrics string.
  void update(int64_t done, const std::string& metrics = "");
  // Print a line that should stay (e.g. a validation result) without breaking the bar.
  void message(const std::string& line);
  void finish(const std::string& metrics = "");  // final redraw and newline
  double elapsed_seconds() const;

 private:
  void draw(int64_t done, const std::string& metrics, bool force);
  std::string label_;
  int64_t total_;
  bool tty_;
  bool open_line_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace rotor::cli
