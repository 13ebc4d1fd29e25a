#pragma once
// The small products shared by the fused recurrent kernels (kernels/lstm.h, gru.h) and the long convolution,
// templated on f32 / f64.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "rotor/kernels/matmul.h"

namespace rotor::kernels {

// m: [R, C] row-major -> its transpose [C, R] (e.g. a gate weight [G, H] with gate row j contiguous for each
// input k, or a long convolution's kernel [H, T] with a lag's weights contiguous over the channels).
template <class F>
std::vector<F> transposed_copy(const F* m, int64_t R, int64_t C) {
  std::vector<F> t(static_cast<size_t>(R * C));
  for (int64_t j = 0; j < R; ++j)
    for (int64_t k = 0; k < C; ++k) t[k * R + j] = m[j * C + k];
  return t;
}

// out[0, N) += sum_k x[k] m[k, :] for m: [K, N] row-major (one row vector times a matrix, vectorised over N).
template <class F>
inline void add_row_times_matrix(F* out, const F* x, const F* m, int64_t K, int64_t N) {
  for (int64_t k = 0; k < K; ++k) {
    const F s = x[k];
    const F* row = m + k * N;
#pragma omp simd
    for (int64_t j = 0; j < N; ++j) out[j] += s * row[j];
  }
}

// [B, T, H]: row (b, t) = the state before step t: h0[b] at t = 0, else states[b, t - 1] (rows of `stride`).
template <class F>
std::vector<F> previous_states(const F* states, const F* h0, int64_t B, int64_t T, int64_t H, int64_t stride) {
  std::vector<F> prev(static_cast<size_t>(B * T * H));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const F* src = t == 0 ? h0 + b * H : states + (b * T + t - 1) * stride;
      std::copy(src, src + H, prev.data() + (b * T + t) * H);
    }
  return prev;
}

// dw [G, H] = dg^T [G, R] x prev [R, H] (dg: [R, G]), written: oneDNN in f32, a plain loop in f64.
template <class F>
void gate_weight_gradient(F* dw, const F* dg, const F* prev, int64_t R, int64_t G, int64_t H) {
  if constexpr (std::is_same_v<F, float>) {
    gemm_f32(true, false, G, H, R, dg, prev, dw);
  } else {
    std::fill(dw, dw + G * H, F(0));
    for (int64_t r = 0; r < R; ++r)
      for (int64_t j = 0; j < G; ++j) {
        const F s = dg[r * G + j];
#pragma omp simd
        for (int64_t k = 0; k < H; ++k) dw[j * H + k] += s * prev[r * H + k];
      }
  }
}

}  // namespace rotor::kernels
