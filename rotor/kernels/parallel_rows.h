#pragma once
// Row-parallel loops whose per-column sums (bias and norm-weight gradients) do not depend on the
// thread count: rows are cut into fixed blocks, each block sums into its own partial row, and the
// partials are added in block order.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "rotor/core/threads.h"

namespace rotor::kernels {

// Calls fn(buffer) with n zeroed values of per-thread storage that is reused from call to call (a fresh
// large vector per call costs page faults); a nested call on the same thread gets its own vector.
template <class T, class Fn>
void with_zeroed_scratch(size_t n, Fn&& fn) {
  thread_local std::vector<T> pool;
  thread_local bool busy = false;
  if (busy) {
    std::vector<T> own(n, T(0));
    fn(own.data());
    return;
  }
  struct Release {
    bool& flag;
    ~Release() { flag = false; }
  } release{busy};
  busy = true;
  pool.assign(n, T(0));
  fn(pool.data());
}

// Calls fn(row, partial) for every row in [0, rows); partial points at `width` values private to the
// row's block. Afterwards sums[j] += sum over blocks of partial[j].
template <class T, class Fn>
void rows_with_column_sums(int64_t rows, int64_t width, int64_t work_per_row, T* sums, Fn&& fn) {
  constexpr int64_t kBlock = 32;
  const int64_t nblocks = (rows + kBlock - 1) / kBlock;
  with_zeroed_scratch<T>(static_cast<size_t>(nblocks * width), [&](T* partial) {
    const bool parallel = rows * work_per_row >= kParallelThreshold;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t b = 0; b < nblocks; ++b) {
      T* p = partial + b * width;
      const int64_t end = std::min(rows, (b + 1) * kBlock);
      for (int64_t n = b * kBlock; n < end; ++n) fn(n, p);
    }
    for (int64_t b = 0; b < nblocks; ++b) {
      const T* p = partial + b * width;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) sums[j] += p[j];
    }
  });
}

// Calls fn(row) for every row, in parallel when rows * work_per_row is large enough.
template <class Fn>
void parallel_rows(int64_t rows, int64_t work_per_row, Fn&& fn) {
  const bool parallel = rows * work_per_row >= kParallelThreshold;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t n = 0; n < rows; ++n) fn(n);
}

}  // namespace rotor::kernels
