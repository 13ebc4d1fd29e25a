#include "rotor/kernels/long_conv.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "rotor/core/threads.h"
#include "rotor/kernels/fft.h"
#include "rotor/kernels/recurrent_gemm.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace rotor::kernels {

namespace {

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
  const std::vector<F> kt = transposed_copy(K, H, T);
  apply(y, u, kt.data(), B, T, H, false);
}

template <class F>
void long_conv_backward(F* du, F* dK, const F* dy, const F* u, const F* K, int64_t B, int64_t T, int64_t H) {
  const std::vector<F> kt = transposed_copy(K, H, T);
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

namespace {

// The FFT form. Channels go in groups of 2 * kFftLanes: lane l of a group's transform carries channel
// h0 + l in its real part and channel h0 + kFftLanes + l in its imaginary part (zero past H), each signal
// zero padded from T to n >= 2T, so the circular products below equal the causal / anti-causal sums.
constexpr int64_t kLanes = kFftLanes, kGroup = 2 * kFftLanes;

template <class F>
struct Spectrum {  // re, im: [n, kLanes]
  explicit Spectrum(int64_t n) : re(static_cast<size_t>(n * kLanes)), im(static_cast<size_t>(n * kLanes)) {}
  std::vector<F> re, im;
};

// Loads the pair signals of the group at h0 from x (element (t, h) at x[t * ts + h * hs]) and transforms.
template <class F>
void transform_group(Spectrum<F>& s, const F* x, int64_t T, int64_t H, int64_t h0, int64_t ts, int64_t hs,
                     const FftPlan<F>& plan) {
  std::fill(s.re.begin(), s.re.end(), F(0));
  std::fill(s.im.begin(), s.im.end(), F(0));
  const int64_t wa = std::clamp<int64_t>(H - h0, 0, kLanes), wb = std::clamp<int64_t>(H - h0 - kLanes, 0, kLanes);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t l = 0; l < wa; ++l) s.re[t * kLanes + l] = x[t * ts + (h0 + l) * hs];
    for (int64_t l = 0; l < wb; ++l) s.im[t * kLanes + l] = x[t * ts + (h0 + kLanes + l) * hs];
  }
  fft_lanes(s.re.data(), s.im.data(), plan, false);
}

// The inverse transform of s, times `scale`, out to the group's channels for t < T (layout as above).
template <class F>
void inverse_group(Spectrum<F>& s, F* x, int64_t T, int64_t H, int64_t h0, int64_t ts, int64_t hs, F scale,
                   const FftPlan<F>& plan) {
  fft_lanes(s.re.data(), s.im.data(), plan, true);
  const int64_t wa = std::clamp<int64_t>(H - h0, 0, kLanes), wb = std::clamp<int64_t>(H - h0 - kLanes, 0, kLanes);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t l = 0; l < wa; ++l) x[t * ts + (h0 + l) * hs] = scale * s.re[t * kLanes + l];
    for (int64_t l = 0; l < wb; ++l) x[t * ts + (h0 + kLanes + l) * hs] = scale * s.im[t * kLanes + l];
  }
}

// z1 = FFT(x1a + i x1b), z2 = FFT(x2a + i x2b) of real signals -> w (=, or += when accumulate)
//   X1a op(X2a) + i X1b op(X2b),  op = complex conjugation when `conjugate` (a correlation), else identity,
// whose inverse transform is (x1a * x2a) + i (x1b * x2b) for the circular product *. The spectrum of a real
// signal x out of Z = FFT(x + i y) is X_k = (Z_k + conj Z_{n-k}) / 2, Y_k = (Z_k - conj Z_{n-k}) / (2i), and
// X_{n-k} = conj X_k, so bins k and n - k are done together.
template <class F>
void multiply_pairs(Spectrum<F>& w, const Spectrum<F>& z1, const Spectrum<F>& z2, bool conjugate, bool accumulate,
                    int64_t n) {
  const F half = F(0.5), sc = conjugate ? F(-1) : F(1);
  for (int64_t k = 0; k <= n / 2; ++k) {
    const int64_t m = (n - k) & (n - 1);
    const F* ar = z1.re.data() + k * kLanes;
    const F* ai = z1.im.data() + k * kLanes;
    const F* cr = z1.re.data() + m * kLanes;
    const F* ci = z1.im.data() + m * kLanes;
    const F* br = z2.re.data() + k * kLanes;
    const F* bi = z2.im.data() + k * kLanes;
    const F* dr = z2.re.data() + m * kLanes;
    const F* di = z2.im.data() + m * kLanes;
    F* wkr = w.re.data() + k * kLanes;
    F* wki = w.im.data() + k * kLanes;
    F* wmr = w.re.data() + m * kLanes;
    F* wmi = w.im.data() + m * kLanes;
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      // the two real signals' spectra at bin k, of z1 (x: a, y: b) and z2 (op applied)
      const F xar = half * (ar[l] + cr[l]), xai = half * (ai[l] - ci[l]);
      const F xbr = half * (ai[l] + ci[l]), xbi = half * (cr[l] - ar[l]);
      const F yar = half * (br[l] + dr[l]), yai = sc * half * (bi[l] - di[l]);
      const F ybr = half * (bi[l] + di[l]), ybi = sc * half * (dr[l] - br[l]);
      const F pr = xar * yar - xai * yai, pi = xar * yai + xai * yar;
      const F qr = xbr * ybr - xbi * ybi, qi = xbr * ybi + xbi * ybr;
      // w_k = P + iQ, w_{n-k} = conj P + i conj Q (P, Q are real at k = 0 and n / 2)
      const F kr = pr - qi, ki = pi + qr, mr = pr + qi, mi = qr - pi;
      if (accumulate) {
        wkr[l] += kr;
        wki[l] += ki;
        if (m != k) {
          wmr[l] += mr;
          wmi[l] += mi;
        }
      } else {
        wkr[l] = kr;
        wki[l] = ki;
        wmr[l] = m != k ? mr : kr;
        wmi[l] = m != k ? mi : ki;
      }
    }
  }
}

}  // namespace

template <class F>
void long_conv_fft_forward(F* y, const F* u, const F* K, int64_t B, int64_t T, int64_t H) {
  const int64_t n = fft_size_at_least(2 * T), groups = (H + kGroup - 1) / kGroup;
  const FftPlan<F> plan(n);
  const F scale = F(1) / static_cast<F>(n);
  std::vector<Spectrum<F>> ks(static_cast<size_t>(groups), Spectrum<F>(n));
  const int threads = conv_threads(B * groups, B * H * n * 8);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
#pragma omp for schedule(static)
    for (int64_t g = 0; g < groups; ++g) transform_group(ks[g], K, T, H, g * kGroup, 1, T, plan);
    Spectrum<F> us(n), w(n);
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t g = 0; g < groups; ++g) {
        transform_group(us, u + b * T * H, T, H, g * kGroup, H, 1, plan);
        multiply_pairs(w, us, ks[g], false, false, n);
        inverse_group(w, y + b * T * H, T, H, g * kGroup, H, 1, scale, plan);
      }
  }
}

template <class F>
void long_conv_fft_backward(F* du, F* dK, const F* dy, const F* u, const F* K, int64_t B, int64_t T, int64_t H) {
  const int64_t n = fft_size_at_least(2 * T), groups = (H + kGroup - 1) / kGroup;
  const FftPlan<F> plan(n);
  const F scale = F(1) / static_cast<F>(n);
  const int threads = conv_threads(groups, B * H * n * 8);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    Spectrum<F> ks(n), us(n), gs(n), w(n), dks(n);
#pragma omp for schedule(static)
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t h0 = g * kGroup;
      transform_group(ks, K, T, H, h0, 1, T, plan);
      for (int64_t b = 0; b < B; ++b) {
        transform_group(gs, dy + b * T * H, T, H, h0, H, 1, plan);
        transform_group(us, u + b * T * H, T, H, h0, H, 1, plan);
        multiply_pairs(dks, gs, us, true, b > 0, n);  // dK = sum_b dy (x) u
        multiply_pairs(w, gs, ks, true, false, n);    // du = dy (x) K
        inverse_group(w, du + b * T * H, T, H, h0, H, 1, scale, plan);
      }
      inverse_group(dks, dK, T, H, h0, 1, T, scale, plan);
    }
  }
}

template void long_conv_forward<float>(float*, const float*, const float*, int64_t, int64_t, int64_t);
template void long_conv_forward<double>(double*, const double*, const double*, int64_t, int64_t, int64_t);
template void long_conv_backward<float>(float*, float*, const float*, const float*, const float*, int64_t, int64_t,
                                        int64_t);
template void long_conv_backward<double>(double*, double*, const double*, const double*, const double*, int64_t,
                                         int64_t, int64_t);

template void long_conv_fft_forward<float>(float*, const float*, const float*, int64_t, int64_t, int64_t);
template void long_conv_fft_forward<double>(double*, const double*, const double*, int64_t, int64_t, int64_t);
template void long_conv_fft_backward<float>(float*, float*, const float*, const float*, const float*, int64_t,
                                            int64_t, int64_t);
template void long_conv_fft_backward<double>(double*, double*, const double*, const double*, const double*,
                                             int64_t, int64_t, int64_t);

}  // namespace rotor::kernels
