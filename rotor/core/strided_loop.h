#pragma once
// Internal helper for kernels and Tensor::copy_: walk N operands that share one (broadcast) shape but
// have their own strides, calling an inner-loop functor once per run along the innermost dimension.
// Dimensions of size 1 are dropped and adjacent dimensions that are contiguous for every operand are
// merged first, so a dense tensor becomes one long run and the functor sees unit strides.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "rotor/core/tensor.h"
#include "rotor/core/threads.h"

namespace rotor::detail {

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

// The same plan with the dimensions first put in the order of the first operand's strides (largest
// first; the same permutation for every operand), so that the walk follows that operand's memory: for
// elementwise maps, whose result does not depend on the order, when the output is laid out like
// permuted inputs. (Reductions keep make_plan's logical order.)
// The dimensions ordered by decreasing stride (ties keep their order): a dense layout's memory order.
inline std::vector<int64_t> dims_by_decreasing_stride(const Shape& strides) {
  std::vector<int64_t> order(strides.size());
  for (size_t d = 0; d < order.size(); ++d) order[d] = static_cast<int64_t>(d);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return strides[a] > strides[b]; });
  return order;
}

template <size_t N>
StridedPlan<N> make_plan_in_memory_order(const Shape& shape, const std::array<Shape, N>& strides) {
  const size_t n = shape.size();
  const std::vector<int64_t> order = dims_by_decreasing_stride(strides[0]);
  Shape s(n);
  std::array<Shape, N> st;
  for (size_t k = 0; k < N; ++k) st[k].resize(n);
  for (size_t i = 0; i < n; ++i) {
    s[i] = shape[order[i]];
    for (size_t k = 0; k < N; ++k) st[k][i] = strides[k][order[i]];
  }
  return make_plan<N>(s, st);
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

// When an input is stored transposed relative to the iteration order (unit stride in the second-last
// dimension, large stride in the last), walking rows would read one element per cache line. Instead
// walk kTile x kTile tiles of the last two dimensions so the lines of a tile stay in L1.
// Returns false (doing nothing) when the layout does not call for tiling.
template <size_t N, class F>
bool try_tiled(const StridedPlan<N>& p, const std::array<int64_t, N>& base, F& inner) {
  constexpr int64_t kTile = 64, kTileRows = 16, kTileCols = 16;
  const int64_t nd = static_cast<int64_t>(p.shape.size());
  if (nd < 2) return false;
  const int64_t R = p.shape[nd - 2], L = p.shape[nd - 1];
  bool transposed_input = false;
  for (size_t k = 0; k < N; ++k)
    transposed_input = transposed_input || (p.strides[k][nd - 2] == 1 && p.strides[k][nd - 1] > kTile);
  if (!transposed_input || R < 16 || L < 16) return false;
  const int64_t tiles_i = (R + kTileRows - 1) / kTileRows;
  const int64_t tasks = p.numel / (R * L) * tiles_i;
  std::array<int64_t, N> st;
  for (size_t k = 0; k < N; ++k) st[k] = p.strides[k][nd - 1];
  auto run_task = [&](int64_t task) {
    std::array<int64_t, N> off = base;
    int64_t o = task / tiles_i;
    for (int64_t d = nd - 3; d >= 0; --d) {
      const int64_t c = o % p.shape[d];
      o /= p.shape[d];
      for (size_t k = 0; k < N; ++k) off[k] += c * p.strides[k][d];
    }
    const int64_t i0 = (task % tiles_i) * kTileRows, i1 = std::min(R, i0 + kTileRows);
    for (int64_t j0 = 0; j0 < L; j0 += kTileCols) {
      const int64_t len = std::min(kTileCols, L - j0);
      for (int64_t i = i0; i < i1; ++i) {
        std::array<int64_t, N> row;
        for (size_t k = 0; k < N; ++k) row[k] = off[k] + i * p.strides[k][nd - 2] + j0 * st[k];
        inner(len, row, st);
      }
    }
  };
  const bool parallel = p.numel >= kParallelThreshold && tasks > 1 && omp_get_max_threads() > 1 && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t t = 0; t < tasks; ++t) run_task(t);
  return true;
}

// Run the whole plan, in parallel (contiguous blocks of rows per thread) when it is large.
template <size_t N, class F>
void strided_for(const StridedPlan<N>& p, const std::array<int64_t, N>& base, F&& inner) {
  if (p.numel == 0) return;
  if (try_tiled(p, base, inner)) return;
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

}  // namespace rotor::detail
