#pragma once
// Internal helper for kernels: walk N operands that share one (broadcast) shape but have their own
// strides, calling an inner-loop functor once per run along the innermost dimension.
// Dimensions of size 1 are dropped and adjacent dimensions that are contiguous for every operand are
// merged first, so a dense tensor becomes one long run and the functor sees unit strides.
#include <omp.h>

#include <array>
#include <cstdint>

#include "rotor/core/tensor.h"
#include "rotor/core/threads.h"

namespace rotor::kernels::detail {

template <size_t N>
struct StridedPlan {
  Shape shape;                    // coalesced shape (at least one dimension)
  std::array<Shape, N> strides;   // per operand, same length as shape
  int64_t numel = 0;
};

// Coalesce `shape` with each operand's strides (all vectors of the same length).
template <size_t N>
StridedPlan<N> make_plan(const Shape& shape, const std::array<Shape, N>& strides) {
  StridedPlan<N> p;
  p.numel = shape_numel(shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !p.shape.empty();
    for (size_t k = 0; k < N && merge; ++k) merge = p.strides[k].back() == strides[k][d] * shape[d];
    if (merge) {
      p.shape.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) p.strides[k].back() = strides[k][d];
    } else {
      p.shape.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) p.strides[k].push_back(strides[k][d]);
    }
  }
  if (p.shape.empty()) {
    p.shape.push_back(1);
    for (size_t k = 0; k < N; ++k) p.strides[k].push_back(0);
  }
  return p;
}

// Calls inner(count, offsets, inner_strides) for rows [row_begin, row_end) of the plan, where a row is
// one run along the innermost dimension and offsets are element offsets added to `base`.
template <size_t N, class F>
void run_rows(const StridedPlan<N>& p, const std::array<int64_t, N>& base, int64_t row_begin, int64_t row_end,
              F& inner) {
  const int64_t nd = static_cast<int64_t>(p.shape.size());
  const int64_t len = p.shape[nd - 1];
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = p.strides[k][nd - 1];
  // Decompose row_begin into an index over the outer dimensions.
  std::array<int64_t, 16> small_idx{};
  std::vector<int64_t> big_idx;
  int64_t* idx = small_idx.data();
  if (nd > 16) {
    big_idx.assign(nd, 0);
    idx = big_idx.data();
  }
  std::array<int64_t, N> off = base;
  int64_t r = row_begin;
  for (int64_t d = nd - 2; d >= 0; --d) {
    idx[d] = r % p.shape[d];
    r /= p.shape[d];
    for (size_t k = 0; k < N; ++k) off[k] += idx[d] * p.strides[k][d];
  }
  for (int64_t row = row_begin; row < row_end; ++row) {
    inner(len, off, inner_strides);
    for (int64_t d = nd - 2; d >= 0; --d) {
      for (size_t k = 0; k < N; ++k) off[k] += p.strides[k][d];
      if (++idx[d] < p.shape[d]) break;
      for (size_t k = 0; k < N; ++k) off[k] -= p.strides[k][d] * p.shape[d];
      idx[d] = 0;
    }
  }
}

// Run the whole plan, in parallel (contiguous blocks of rows per thread) when it is large.
template <size_t N, class F>
void strided_for(const StridedPlan<N>& p, const std::array<int64_t, N>& base, F&& inner) {
  if (p.numel == 0) return;
  const int64_t rows = p.numel / p.shape.back();
  if (p.numel < kParallelThreshold || rows < 2 || omp_get_max_threads() == 1 || omp_in_parallel()) {
    run_rows(p, base, 0, rows, inner);
    return;
  }
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t begin = rows * t / nt, end = rows * (t + 1) / nt;
    if (begin < end) run_rows(p, base, begin, end, inner);
  }
}

}  // namespace rotor::kernels::detail
