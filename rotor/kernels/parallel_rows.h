#pragma once
// Row-parallel loops whose per-column sums (bias and norm-weight gradients) do not depend on the
// thread count: rows are cut into fixed blocks, each block sums into its own partial row, and the
// partials are added in block order.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "rotor/core/threads.h"

namespace rotor::kernels {

// Calls fn(row, partial) for every row in [0, rows); partial points at `width` values private to the
// row's block. Afterwards sums[j] += sum over blocks of partial[j].
template <class T, class Fn>
void rows_with_column_sums(int64_t rows, int64_t width, int64_t work_per_row, T* sums, Fn&& fn) {
  constexpr int64_t kBlock = 32;
  const int64_t nblocks = (rows + kBlock - 1) / kBlock;
  std::vector<T> partial(static_cast<size_t>(nblocks * width), T(0));
  const bool parallel = rows * work_per_row >= kParallelThreshold;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t b = 0; b < nblocks; ++b) {
    T* p = partial.data() + b * width;
    const int64_t end = std::min(rows, (b + 1) * kBlock);
    for (int64_t n = b * kBlock; n < end; ++n) fn(n, p);
  }
  for (int64_t b = 0; b < nblocks; ++b) {
    const T* p = partial.data() + b * width;
#pragma omp simd
    for (int64_t j = 0; j < width; ++j) sums[j] += p[j];
  }
}

// Calls fn(row) for every row, in parallel when rows * work_per_row is large enough.
template <class Fn>
void parallel_rows(int64_t rows, int64_t work_per_row, Fn&& fn) {
  const bool parallel = rows * work_per_row >= kParallelThreshold;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t n = 0; n < rows; ++n) fn(n);
}

}  // namespace rotor::kernels
