#include "rotor/kernels/gru.h"

#include <algorithm>
#include <vector>

#include "rotor/kernels/recurrent_gemm.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

template <class F>
void gru_forward(F* h, F* saved, const F* xg, const F* w_hh, const F* b_hh, const F* h0, int64_t B, int64_t T,
                 int64_t H) {
  using M = math_of<F>;
  const int64_t G = 3 * H;
  const std::vector<F> wt = transposed_copy(w_hh, G, H);
  std::vector<F> hg(static_cast<size_t>(G));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      const F* hp = t == 0 ? h0 + b * H : h + (b * T + t - 1) * H;
      const F* x = xg + (b * T + t) * G;
      F* s = saved + (b * T + t) * 4 * H;
      F* out = h + (b * T + t) * H;
      std::copy(b_hh, b_hh + G, hg.begin());
      add_row_times_matrix(hg.data(), hp, wt.data(), H, G);
#pragma omp simd
      for (int64_t u = 0; u < H; ++u) {
        const F r = M::sigmoid(x[u] + hg[u]), z = M::sigmoid(x[H + u] + hg[H + u]);
        const F n = M::tanh(x[2 * H + u] + r * hg[2 * H + u]);
        s[u] = r;
        s[H + u] = z;
        s[2 * H + u] = n;
        s[3 * H + u] = hg[2 * H + u];
        out[u] = (F(1) - z) * n + z * hp[u];
      }
    }
}

template <class F>
void gru_backward(F* dxg, F* dw_hh, F* db_hh, F* dh0, const F* dh, const F* h, const F* saved, const F* w_hh,
                  const F* h0, int64_t B, int64_t T, int64_t H) {
  const int64_t G = 3 * H;
  std::vector<F> d_next(static_cast<size_t>(B * H), F(0)), dhg(static_cast<size_t>(B * T * G));
  for (int64_t t = T - 1; t >= 0; --t)
    for (int64_t b = 0; b < B; ++b) {
      const F* s = saved + (b * T + t) * 4 * H;
      const F* hp = t == 0 ? h0 + b * H : h + (b * T + t - 1) * H;
      const F* g = dh + (b * T + t) * H;
      F* dx = dxg + (b * T + t) * G;
      F* dg = dhg.data() + (b * T + t) * G;
      F* dn = d_next.data() + b * H;
#pragma omp simd
      for (int64_t u = 0; u < H; ++u) {
        const F r = s[u], z = s[H + u], n = s[2 * H + u], hn = s[3 * H + u];
        const F d = g[u] + dn[u];
        const F dpn = d * (F(1) - z) * (F(1) - n * n);
        const F dpr = dpn * hn * r * (F(1) - r);
        const F dpz = d * (hp[u] - n) * z * (F(1) - z);
        dx[u] = dg[u] = dpr;
        dx[H + u] = dg[H + u] = dpz;
        dx[2 * H + u] = dpn;
        dg[2 * H + u] = dpn * r;
        dn[u] = d * z;
      }
      add_row_times_matrix(dn, dg, w_hh, G, H);  // d_{t-1} += dhg W_hh
    }
  std::copy(d_next.begin(), d_next.end(), dh0);
  std::fill(db_hh, db_hh + G, F(0));
  for (int64_t r = 0; r < B * T; ++r)
    for (int64_t j = 0; j < G; ++j) db_hh[j] += dhg[r * G + j];
  const std::vector<F> hprev = previous_states(h, h0, B, T, H, H);
  gate_weight_gradient(dw_hh, dhg.data(), hprev.data(), B * T, G, H);
}

template void gru_forward<float>(float*, float*, const float*, const float*, const float*, const float*, int64_t,
                                 int64_t, int64_t);
template void gru_forward<double>(double*, double*, const double*, const double*, const double*, const double*,
                                  int64_t, int64_t, int64_t);
template void gru_backward<float>(float*, float*, float*, float*, const float*, const float*, const float*,
                                  const float*, const float*, int64_t, int64_t, int64_t);
template void gru_backward<double>(double*, double*, double*, double*, const double*, const double*, const double*,
                                   const double*, const double*, int64_t, int64_t, int64_t);

}  // namespace rotor::kernels
