#pragma once
// A real write failure part-way through a file, for the atomic-write tests: while a FileSizeLimit is alive,
// the kernel refuses (EFBIG) any write past `bytes` in any file of this process (RLIMIT_FSIZE; SIGXFSZ is
// ignored so the write returns an error instead of killing the process). Each gtest case runs in its own
// process under ctest, and the destructor restores the previous limit.
#include <sys/resource.h>

#include <csignal>
#include <cstdint>

namespace rotor::io::testing {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit tiny = old_;
    tiny.rlim_cur = static_cast<rlim_t>(bytes);
    ::setrlimit(RLIMIT_FSIZE, &tiny);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

}  // namespace rotor::io::testing
