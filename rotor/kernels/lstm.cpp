#include "rotor/kernels/lstm.h"

#include <algorithm>
#include <vector>

#include "rotor/kernels/recurrent_gemm.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

template <class F>
void lstm_forward(F* hc, F* gates, const F* xg, const F* w_hh, const F* h0, const F* c0, int64_t B, int64_t T,
                  int64_t H) {
  using M = math_of<F>;
  const int64_t G = 4 * H;
  const std::vector<F> wt = transposed_copy(w_hh, G, H);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      F* pre = gates + (b * T + t) * G;
      const F* hp = t == 0 ? h0 + b * H : hc + (b * T + t - 1) * 2 * H;
      const F* cp = t == 0 ? c0 + b * H : hc + (b * T + t - 1) * 2 * H + H;
      F* out = hc + (b * T + t) * 2 * H;
      std::copy(xg + (b * T + t) * G, xg + (b * T + t + 1) * G, pre);
      add_row_times_matrix(pre, hp, wt.data(), H, G);
#pragma omp simd
      for (int64_t u = 0; u < H; ++u) {
        const F i = M::sigmoid(pre[u]), f = M::sigmoid(pre[H + u]);
        const F g = M::tanh(pre[2 * H + u]), o = M::sigmoid(pre[3 * H + u]);
        const F c = f * cp[u] + i * g;
        pre[u] = i;
        pre[H + u] = f;
        pre[2 * H + u] = g;
        pre[3 * H + u] = o;
        out[H + u] = c;
        out[u] = o * M::tanh(c);
      }
    }
}

template <class F>
void lstm_backward(F* dxg, F* dw_hh, F* dh0, F* dc0, const F* dhc, const F* hc, const F* gates, const F* w_hh,
                   const F* h0, const F* c0, int64_t B, int64_t T, int64_t H) {
  using M = math_of<F>;
  const int64_t G = 4 * H;
  std::vector<F> dh_next(static_cast<size_t>(B * H), F(0)), dc_next(static_cast<size_t>(B * H), F(0));
  for (int64_t t = T - 1; t >= 0; --t)
    for (int64_t b = 0; b < B; ++b) {
      const F* a = gates + (b * T + t) * G;
      const F* cur = hc + (b * T + t) * 2 * H;
      const F* cp = t == 0 ? c0 + b * H : hc + (b * T + t - 1) * 2 * H + H;
      const F* d = dhc + (b * T + t) * 2 * H;
      F* dpre = dxg + (b * T + t) * G;
      F* dhn = dh_next.data() + b * H;
      F* dcn = dc_next.data() + b * H;
#pragma omp simd
      for (int64_t u = 0; u < H; ++u) {
        const F i = a[u], f = a[H + u], g = a[2 * H + u], o = a[3 * H + u];
        const F tc = M::tanh(cur[H + u]);
        const F dh = d[u] + dhn[u];
        const F dc = d[H + u] + dcn[u] + dh * o * (F(1) - tc * tc);
        dpre[u] = dc * g * i * (F(1) - i);
        dpre[H + u] = dc * cp[u] * f * (F(1) - f);
        dpre[2 * H + u] = dc * i * (F(1) - g * g);
        dpre[3 * H + u] = dh * tc * o * (F(1) - o);
        dcn[u] = dc * f;
        dhn[u] = 0;
      }
      add_row_times_matrix(dhn, dpre, w_hh, G, H);  // dh_{t-1} = dpre W_hh
    }
  std::copy(dh_next.begin(), dh_next.end(), dh0);
  std::copy(dc_next.begin(), dc_next.end(), dc0);
  const std::vector<F> hprev = previous_states(hc, h0, B, T, H, 2 * H);  // dW_hh = dpre^T hprev
  gate_weight_gradient(dw_hh, dxg, hprev.data(), B * T, G, H);
}

template void lstm_forward<float>(float*, float*, const float*, const float*, const float*, const float*, int64_t,
                                  int64_t, int64_t);
template void lstm_forward<double>(double*, double*, const double*, const double*, const double*, const double*,
                                   int64_t, int64_t, int64_t);
template void lstm_backward<float>(float*, float*, float*, float*, const float*, const float*, const float*,
                                   const float*, const float*, const float*, int64_t, int64_t, int64_t);
template void lstm_backward<double>(double*, double*, double*, double*, const double*, const double*,
                                    const double*, const double*, const double*, const double*, int64_t, int64_t,
                                    int64_t);

}  // namespace rotor::kernels
