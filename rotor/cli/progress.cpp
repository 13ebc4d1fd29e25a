#include "rotor/cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace rotor::cli {

namespace {
std::string format_duration(double s) {
  if (s < 0 || s > 1e7) return "?";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}
}  // namespace

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)), total_(total), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_ - std::chrono::hours(1)) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done, const std::string& metrics) { draw(done, metrics, false); }

void Progress::draw(int64_t done, const std::string& metrics, bool force) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (!force && since < (tty_ ? 0.1 : 5.0)) return;
  last_draw_ = now;
  const double elapsed = elapsed_seconds();
  const double frac = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 0.0;
  const double eta = done > 0 ? elapsed * (1.0 - frac) / frac : -1;
  constexpr int kWidth = 24;
  std::string bar(kWidth, ' ');
  for (int i = 0; i < static_cast<int>(frac * kWidth + 0.5) && i < kWidth; ++i) bar[i] = '#';
  char head[160];
  std::snprintf(head, sizeof head, "%s [%s] %lld/%lld %3.0f%% %s<%s", label_.c_str(), bar.c_str(),
                static_cast<long long>(done), static_cast<long long>(total_), frac * 100,
                format_duration(elapsed).c_str(), format_duration(eta).c_str());
  if (tty_) std::fprintf(stderr, "\r\033[K%s  %s", head, metrics.c_str());
  else std::fprintf(stderr, "%s  %s\n", head, metrics.c_str());
  open_line_ = tty_;
  std::fflush(stderr);
}

void Progress::message(const std::string& line) {
  if (open_line_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", line.c_str());
  open_line_ = false;
  std::fflush(stderr);
}

void Progress::finish(const std::string& metrics) {
  draw(total_, metrics, true);
  if (open_line_) std::fprintf(stderr, "\n");
  open_line_ = false;
}

}  // namespace rotor::cli
