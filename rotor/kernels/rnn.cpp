#include "rotor/kernels/rnn.h"

#include <algorithm>
#include <vector>

#include "rotor/kernels/recurrent_gemm.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

template <class F>
void rnn_forward(F* h, const F* xg, const F* w_hh, const F* h0, int64_t B, int64_t T, int64_t H, bool relu) {
  using M = math_of<F>;
  const std::vector<F> wt = transposed_copy(w_hh, H, H);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      const F* hp = t == 0 ? h0 + b * H : h + (b * T + t - 1) * H;
      F* out = h + (b * T + t) * H;
      std::copy(xg + (b * T + t) * H, xg + (b * T + t + 1) * H, out);
      add_row_times_matrix(out, hp, wt.data(), H, H);
      if (relu) {
#pragma omp simd
        for (int64_t u = 0; u < H; ++u) out[u] = out[u] > F(0) ? out[u] : F(0);
      } else {
#pragma omp simd
        for (int64_t u = 0; u < H; ++u) out[u] = M::tanh(out[u]);
      }
    }
}

template <class F>
void rnn_backward(F* dxg, F* dw_hh, F* dh0, const F* dh, const F* h, const F* w_hh, const F* h0, int64_t B,
                  int64_t T, int64_t H, bool relu) {
  std::vector<F> d_next(static_cast<size_t>(B * H), F(0));
  for (int64_t t = T - 1; t >= 0; --t)
    for (int64_t b = 0; b < B; ++b) {
      const F* y = h + (b * T + t) * H;
      const F* g = dh + (b * T + t) * H;
      F* dpre = dxg + (b * T + t) * H;
      F* dn = d_next.data() + b * H;
#pragma omp simd
      for (int64_t u = 0; u < H; ++u) {
        const F slope = relu ? (y[u] > F(0) ? F(1) : F(0)) : F(1) - y[u] * y[u];
        dpre[u] = (g[u] + dn[u]) * slope;
        dn[u] = 0;
      }
      add_row_times_matrix(dn, dpre, w_hh, H, H);  // dh_{t-1} = dpre W_hh
    }
  std::copy(d_next.begin(), d_next.end(), dh0);
  const std::vector<F> hprev = previous_states(h, h0, B, T, H, H);
  gate_weight_gradient(dw_hh, dxg, hprev.data(), B * T, H, H);
}

template void rnn_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t, bool);
template void rnn_forward<double>(double*, const double*, const double*, const double*, int64_t, int64_t, int64_t,
                                  bool);
template void rnn_backward<float>(float*, float*, float*, const float*, const float*, const float*, const float*,
                                  int64_t, int64_t, int64_t, bool);
template void rnn_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                   const double*, int64_t, int64_t, int64_t, bool);

}  // namespace rotor::kernels
