#pragma once
// No exception may leave an OpenMP region (the runtime calls std::terminate). A loop body that can throw
// runs through FirstError::run, which keeps the first exception; after the region, rethrow() throws it:
//   FirstError err;
//   #pragma omp parallel for
//   for (...) err.run([&] { ... });
//   err.rethrow();
#include <exception>
#include <mutex>

namespace rotor {

class FirstError {
 public:
  // Runs fn unless an earlier iteration failed; an exception from fn is kept (the first one wins).
  template <class Fn>
  void run(Fn&& fn) noexcept {
    if (failed()) return;
    try {
      fn();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }
  bool failed() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<bool>(error_);
  }
  void rethrow() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
};

}  // namespace rotor
