#pragma once
// A radix-2 complex FFT (Cooley-Tukey, iterative, decimation in time) run on kFftLanes independent
// transforms side by side, so that every butterfly is one vector operation over the lanes. Data are split
// into real and imaginary arrays, each [n, kFftLanes] row-major (row k holds frequency or time k of every
// lane), n a power of two:
//   forward:  X_k = sum_j x_j exp(-2 pi i j k / n)
//   inverse:  x_j = sum_k X_k exp(+2 pi i j k / n)   (unscaled: the caller divides by n)
// Used by the FFT form of the long causal convolution (long_conv.h), where two real signals are packed
// into the real and imaginary parts of one transform.
#include <cstdint>
#include <vector>

namespace rotor::kernels {

constexpr int64_t kFftLanes = 16;

// The twiddles exp(-2 pi i k / n), k < n / 2 (computed in double), and the bit-reversal permutation.
template <class F>
struct FftPlan {
  explicit FftPlan(int64_t n);
  int64_t n;
  std::vector<F> cos, sin;     // [n / 2]
  std::vector<int64_t> reverse;  // [n]
};

// In place on re, im: [n, kFftLanes], input in natural order, output in natural order.
template <class F>
void fft_lanes(F* re, F* im, const FftPlan<F>& plan, bool inverse);

// The smallest power of two >= n (n >= 1).
int64_t fft_size_at_least(int64_t n);

}  // namespace rotor::kernels
