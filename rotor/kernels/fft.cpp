#include "rotor/kernels/fft.h"

#include <cmath>
#include <numbers>
#include <utility>

#include "rotor/core/error.h"

namespace rotor::kernels {

int64_t fft_size_at_least(int64_t n) {
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

template <class F>
FftPlan<F>::FftPlan(int64_t size) : n(size) {
  ROTOR_CHECK(n >= 1 && (n & (n - 1)) == 0, "fft: size ", n, " is not a power of two");
  cos.resize(static_cast<size_t>(n / 2));
  sin.resize(static_cast<size_t>(n / 2));
  for (int64_t k = 0; k < n / 2; ++k) {
    const double a = 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
    cos[k] = static_cast<F>(std::cos(a));
    sin[k] = static_cast<F>(std::sin(a));
  }
  reverse.resize(static_cast<size_t>(n));
  int bits = 0;
  while ((int64_t{1} << bits) < n) ++bits;
  for (int64_t k = 0; k < n; ++k) {
    int64_t r = 0;
    for (int b = 0; b < bits; ++b) r |= ((k >> b) & 1) << (bits - 1 - b);
    reverse[k] = r;
  }
}

template <class F>
void fft_lanes(F* re, F* im, const FftPlan<F>& plan, bool inverse) {
  constexpr int64_t L = kFftLanes;
  const int64_t n = plan.n;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = plan.reverse[k];
    if (k < r)
      for (int64_t l = 0; l < L; ++l) {
        std::swap(re[k * L + l], re[r * L + l]);
        std::swap(im[k * L + l], im[r * L + l]);
      }
  }
  const F sign = inverse ? F(1) : F(-1);  // the twiddle exp(sign 2 pi i j / len)
  for (int64_t len = 2; len <= n; len <<= 1) {
    const int64_t half = len / 2, stride = n / len;
    for (int64_t i = 0; i < n; i += len)
      for (int64_t j = 0; j < half; ++j) {
        const F wr = plan.cos[j * stride], wi = sign * plan.sin[j * stride];
        F* ar = re + (i + j) * L;
        F* ai = im + (i + j) * L;
        F* br = re + (i + j + half) * L;
        F* bi = im + (i + j + half) * L;
#pragma omp simd
        for (int64_t l = 0; l < L; ++l) {
          const F tr = wr * br[l] - wi * bi[l], ti = wr * bi[l] + wi * br[l];
          br[l] = ar[l] - tr;
          bi[l] = ai[l] - ti;
          ar[l] += tr;
          ai[l] += ti;
        }
      }
  }
}

template struct FftPlan<float>;
template struct FftPlan<double>;
template void fft_lanes<float>(float*, float*, const FftPlan<float>&, bool);
template void fft_lanes<double>(double*, double*, const FftPlan<double>&, bool);

}  // namespace rotor::kernels
