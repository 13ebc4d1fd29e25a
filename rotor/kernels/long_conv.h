#pragma once
// A causal convolution with one long kernel per channel (S4D's convolution form, rotor/nn/s4d.h), computed
// directly: u, y: [B, T, H], K: [H, T] (K[h, l] the weight of lag l), row-major:
//   y[b, t, h] = sum_{s <= t} K[h, t - s] u[b, s, h]
// O(B T^2 H) multiply-adds, vectorised over the H channels (contiguous in u), no T x T matrix kept.
#include <cstdint>

namespace rotor::kernels {

template <class F>
void long_conv_forward(F* y, const F* u, const F* K, int64_t B, int64_t T, int64_t H);

// The gradients of sum(dy * y), written: du[b, s, h] = sum_{t >= s} K[h, t - s] dy[b, t, h] and
// dK[h, l] = sum_b sum_{t >= l} dy[b, t, h] u[b, t - l, h] (each lag summed by one thread in a fixed order).
template <class F>
void long_conv_backward(F* du, F* dK, const F* dy, const F* u, const F* K, int64_t B, int64_t T, int64_t H);

}  // namespace rotor::kernels
