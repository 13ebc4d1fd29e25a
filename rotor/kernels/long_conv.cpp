#include "rotor/kernels/long_conv.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "rotor/core/threads.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace rotor::kernels {

namespace {

// K [H, T] -> Kt [T, H], so that a lag's weights are contiguous over the channels.
template <class F>
std::vector<F> transpose_kernel(const F* K, int64_t T, int64_t H) {
  std::vector<F> kt(static_cast<size_t>(T * H));
  for (int64_t h = 0; h < H; ++h)
    for (int64_t l = 0; l < T; ++l) kt[l * H + h] = K[h * T + l];
  return kt;
}

int conv_threads(int64_t tasks, int64_t work) {
  if (tasks <= 1 || work < kParallelThreshold) return 1;
  return std::max(1, std::min<int>(num_threads(), static_cast<int>(tasks)));
}

constexpr int64_t kBlock = 64;  // channels summed in registers at once

// o[0, w) = sum over s in [s0, s1) of kt[lag(s), h0 + .] * in[s, h0 + .], w <= kBlock channels; the sum is
// held in a local block (registers) instead of being stored and reloaded for every s.
template <class F, bool kFuture>
inline void sum_lags(F* o, const F* kt, const F* in, int64_t t, int64_t s0, int64_t s1, int64_t H, int64_t h0,
                     int64_t w) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<F, float>) {
    if (w == kBlock) {  // four 16-float registers (GCC keeps a local array in memory here)
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t s = s0; s < s1; ++s) {
        const float* wt = kt + (kFuture ? s - t : t - s) * H + h0;
        const float* x = in + s * H + h0;
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(wt), _mm512_loadu_ps(x), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(wt + 16), _mm512_loadu_ps(x + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(wt + 32), _mm512_loadu_ps(x + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(wt + 48), _mm512_loadu_ps(x + 48), a3);
      }
      _mm512_storeu_ps(o, a0);
      _mm512_storeu_ps(o + 16, a1);
      _mm512_storeu_ps(o + 32, a2);
      _mm512_storeu_ps(o + 48, a3);
      return;
    }
  }
#endif
  F acc[kBlock] = {};
  if (w == kBlock) {
    for (int64_t s = s0; s < s1; ++s) {
      const F* wt = kt + (kFuture ? s - t : t - s) * H + h0;
      const F* x = in + s * H + h0;
#pragma omp simd
      for (int64_t j = 0; j < kBlock; ++j) acc[j] += wt[j] * x[j];
    }
  } else {
    for (int64_t s = s0; s < s1; ++s) {
      const F* wt = kt + (kFuture ? s - t : t - s) * H + h0;
      const F* x = in + s * H + h0;
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) acc[j] += wt[j] * x[j];
    }
  }
  std::copy(acc, acc + w, o);
}

#if defined(__AVX512F__)
constexpr int64_t kRows = 4;  // outputs t0 .. t0 + 3 summed together: each input row loaded once for all four

// acc[i] += kt[lag] * x over 64 channels (4 registers).
inline void fma_row(__m512* acc, const float* w, const float* x) {
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) acc[q] = _mm512_fmadd_ps(_mm512_loadu_ps(w + 16 * q), _mm512_loadu_ps(x + 16 * q), acc[q]);
}

// Four output rows t0 .. t0 + 3 (all < T), 64 channels from h0: the rows they share in one pass over s, the
// few pairs only some of them have (the triangle next to the diagonal) after it.
template <bool kFuture>
void sum_lags_rows(float* out, const float* kt, const float* in, int64_t t0, int64_t T, int64_t H, int64_t h0) {
  __m512 acc[kRows][4];
  for (auto& a : acc)
    for (auto& q : a) q = _mm512_setzero_ps();
  const int64_t s0 = kFuture ? t0 + kRows - 1 : 0, s1 = kFuture ? T : t0 + 1;  // s valid for every row
  for (int64_t s = s0; s < s1; ++s) {
    const float* x = in + s * H + h0;
#pragma GCC unroll 4
    for (int64_t i = 0; i < kRows; ++i) fma_row(acc[i], kt + (kFuture ? s - t0 - i : t0 + i - s) * H + h0, x);
  }
  for (int64_t i = 0; i < kRows; ++i) {
    // forward: row t0 + i also has s in (t0, t0 + i]; adjoint: row t0 + i also has s in [t0 + i, t0 + 3)
    const int64_t a = kFuture ? t0 + i : t0 + 1, b = kFuture ? t0 + kRows - 1 : t0 + i + 1;
    for (int64_t s = a; s < b; ++s)
      fma_row(acc[i], kt + (kFuture ? s - t0 - i : t0 + i - s) * H + h0, in + s * H + h0);
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) _mm512_storeu_ps(out + (t0 + i) * H + h0 + 16 * q, acc[i][q]);
  }
}
#endif

// out[b, t, :] = sum over the pairs (t, s) of one direction: forward (s <= t, lag t - s) when `future` is
// false, the adjoint (s >= t, lag s - t) when true; `in` is u or dy. Work items: (b, a tile of kTile rows).
template <class F>
void apply(F* out, const F* in, const F* kt, int64_t B, int64_t T, int64_t H, bool future) {
  constexpr int64_t kTile = 4;
  const int64_t tiles = (T + kTile - 1) / kTile;
  const int threads = conv_threads(B * tiles, B * T * T * H / 2);
#pragma omp parallel for collapse(2) schedule(static) num_threads(threads) if (threads > 1)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t tile = 0; tile < tiles; ++tile) {
      const F* rows = in + b * T * H;
      F* orows = out + b * T * H;
      const int64_t t0 = tile * kTile, t1 = std::min(T, t0 + kTile);
      for (int64_t h0 = 0; h0 < H; h0 += kBlock) {
        const int64_t w = std::min(kBlock, H - h0);
#if defined(__AVX512F__)
        if constexpr (std::is_same_v<F, float>) {
          if (w == kBlock && t1 - t0 == kRows) {
            if (future)
              sum_lags_rows<true>(orows, kt, rows, t0, T, H, h0);
            else
              sum_lags_rows<false>(orows, kt, rows, t0, T, H, h0);
            continue;
          }
        }
#endif
        for (int64_t t = t0; t < t1; ++t) {
          if (future)
            sum_lags<F, true>(orows + t * H + h0, kt, rows, t, t, T, H, h0, w);
          else
            sum_lags<F, false>(orows + t * H + h0, kt, rows, t, 0, t + 1, H, h0, w);
        }
      }
    }
}

}  // namespace

template <class F>
void long_conv_forward(F* y, const F* u, const F* K, int64_t B, int64_t T, int64_t H) {
  const std::vector<F> kt = transpose_kernel(K, T, H);
  apply(y, u, kt.data(), B, T, H, false);
}

template <class F>
void long_conv_backward(F* du, F* dK, const F* dy, const F* u, const F* K, int64_t B, int64_t T, int64_t H) {
  const std::vector<F> kt = transpose_kernel(K, T, H);
  apply(du, dy, kt.data(), B, T, H, true);
  std::vector<F> dkt(static_cast<size_t>(T * H), F(0));
  const int threads = conv_threads(T, B * T * T * H / 2);
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads) if (threads > 1)
  for (int64_t l = 0; l < T; ++l)
    for (int64_t h0 = 0; h0 < H; h0 += kBlock) {
      const int64_t w = std::min(kBlock, H - h0);
      F acc[kBlock] = {};
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = l; t < T; ++t) {
          const F* g = dy + (b * T + t) * H + h0;
          const F* x = u + (b * T + t - l) * H + h0;
#pragma omp simd
          for (int64_t j = 0; j < w; ++j) acc[j] += g[j] * x[j];
        }
      std::copy(acc, acc + w, dkt.data() + l * H + h0);
    }
  for (int64_t h = 0; h < H; ++h)
    for (int64_t l = 0; l < T; ++l) dK[h * T + l] = dkt[l * H + h];
}

template void long_conv_forward<float>(float*, const float*, const float*, int64_t, int64_t, int64_t);
template void long_conv_forward<double>(double*, const double*, const double*, int64_t, int64_t, int64_t);
template void long_conv_backward<float>(float*, float*, const float*, const float*, const float*, int64_t, int64_t,
                                        int64_t);
template void long_conv_backward<double>(double*, double*, const double*, const double*, const double*, int64_t,
                                         int64_t, int64_t);

}  // namespace rotor::kernels
