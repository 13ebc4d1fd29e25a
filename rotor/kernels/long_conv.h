#pragma once
// A causal convolution with one long kernel per channel (S4D's convolution form, rotor/nn/s4d.h):
// u, y: [B, T, H], K: [H, T] (K[h, l] the weight of lag l), row-major:
//   y[b, t, h] = sum_{s <= t} K[h, t - s] u[b, s, h]
// Two kernels compute it. Directly (long_conv_forward / _backward): O(B T^2 H) multiply-adds, vectorised
// over the H channels (contiguous in u), no T x T matrix kept. By FFT (long_conv_fft_*): every signal zero
// padded to n, the power of two >= 2T, so the circular convolution of the transforms equals the causal one;
// two real channels share one complex transform (real and imaginary part) and 16 such pairs run in vector
// lanes (kernels/fft.h); O(B H T log T). The backward's sums are a correlation with K (du) and with u (dK),
// each one product of spectra, so it costs 5 transforms per channel pair and batch row, the forward 3.
#include <cstdint>

namespace rotor::kernels {

template <class F>
void long_conv_forward(F* y, const F* u, const F* K, int64_t B, int64_t T, int64_t H);

// The gradients of sum(dy * y), written: du[b, s, h] = sum_{t >= s} K[h, t - s] dy[b, t, h] and
// dK[h, l] = sum_b sum_{t >= l} dy[b, t, h] u[b, t - l, h] (each lag summed by one thread in a fixed order).
template <class F>
void long_conv_backward(F* du, F* dK, const F* dy, const F* u, const F* K, int64_t B, int64_t T, int64_t H);

// The same two functions by FFT (equal to the direct ones up to rounding); dK's sum over b is accumulated in
// the frequency domain in the order b = 0, 1, ..., per group of 32 channels (one thread each), so the
// result does not depend on the thread count.
template <class F>
void long_conv_fft_forward(F* y, const F* u, const F* K, int64_t B, int64_t T, int64_t H);
template <class F>
void long_conv_fft_backward(F* du, F* dK, const F* dy, const F* u, const F* K, int64_t B, int64_t T, int64_t H);

}  // namespace rotor::kernels
