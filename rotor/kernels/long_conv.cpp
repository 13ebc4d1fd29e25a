#include "rotor/kernels/long_conv.h"

#include <algorithm>
#include <vector>

#include "rotor/core/threads.h"

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

// out[b, t, :] = sum over the pairs (t, s) of one direction: forward (s <= t, lag t - s) when `future` is
// false, the adjoint (s >= t, lag s - t) when true; `in` is u or dy.
template <class F>
void apply(F* out, const F* in, const F* kt, int64_t B, int64_t T, int64_t H, bool future) {
  const int threads = conv_threads(B * T, B * T * T * H / 2);
#pragma omp parallel for collapse(2) schedule(static) num_threads(threads) if (threads > 1)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      F* o = out + (b * T + t) * H;
      std::fill(o, o + H, F(0));
      const int64_t s0 = future ? t : 0, s1 = future ? T : t + 1;
      for (int64_t s = s0; s < s1; ++s) {
        const F* w = kt + (future ? s - t : t - s) * H;
        const F* x = in + (b * T + s) * H;
#pragma omp simd
        for (int64_t h = 0; h < H; ++h) o[h] += w[h] * x[h];
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
  for (int64_t l = 0; l < T; ++l) {
    F* acc = dkt.data() + l * H;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = l; t < T; ++t) {
        const F* g = dy + (b * T + t) * H;
        const F* x = u + (b * T + t - l) * H;
#pragma omp simd
        for (int64_t h = 0; h < H; ++h) acc[h] += g[h] * x[h];
      }
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
