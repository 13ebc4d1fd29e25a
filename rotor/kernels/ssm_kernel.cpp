#include "rotor/kernels/ssm_kernel.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include "rotor/core/threads.h"

namespace rotor::kernels {

namespace {

constexpr int64_t kJ = 64;  // lags per block

// z^j (j < kJ) and z^(kJ m) (m < M) of one channel's N states: [N, kJ] and [N, M], real and imaginary parts.
template <class F>
struct Powers {
  std::vector<F> wr, wi, zr, zi;
  Powers(const F* p, const F* q, int64_t N, int64_t M)
      : wr(N * kJ), wi(N * kJ), zr(N * M), zi(N * M) {
    for (int64_t n = 0; n < N; ++n) {
      const std::complex<double> z = std::polar(std::exp(static_cast<double>(p[n])), static_cast<double>(q[n]));
      std::complex<double> w = 1.0;
      for (int64_t j = 0; j < kJ; ++j, w *= z) {
        wr[n * kJ + j] = static_cast<F>(w.real());
        wi[n * kJ + j] = static_cast<F>(w.imag());
      }
      std::complex<double> Z = 1.0;  // w is now z^kJ
      for (int64_t m = 0; m < M; ++m, Z *= w) {
        zr[n * M + m] = static_cast<F>(Z.real());
        zi[n * M + m] = static_cast<F>(Z.imag());
      }
    }
  }
};

// body(h, powers of channel h, M) for every channel h, channels split across threads above the threshold.
template <class F, class Body>
void for_each_channel(const F* p, const F* q, int64_t H, int64_t N, int64_t T, Body body) {
  const int64_t M = (T + kJ - 1) / kJ;
  const int threads = H <= 1 || H * N * T < kParallelThreshold
                          ? 1
                          : std::max(1, std::min<int>(num_threads(), static_cast<int>(H)));
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int64_t h = 0; h < H; ++h) body(h, Powers<F>(p + h * N, q + h * N, N, M), M);
}

}  // namespace

template <class F>
void ssm_kernel_forward(F* K, const F* p, const F* q, const F* cr, const F* ci, int64_t H, int64_t N, int64_t T) {
  for_each_channel(p, q, H, N, T, [&](int64_t h, const Powers<F>& pw, int64_t M) {
    const int64_t o = h * N;
    for (int64_t m = 0; m < M; ++m) {
      const int64_t l0 = m * kJ, jn = std::min(kJ, T - l0);
      F acc[kJ] = {};
      for (int64_t n = 0; n < N; ++n) {
        // a = (cr + i ci) z^(kJ m); K_{l0 + j} gets 2 Re(a z^j)
        const F Zr = pw.zr[n * M + m], Zi = pw.zi[n * M + m];
        const F ar = cr[o + n] * Zr - ci[o + n] * Zi, ai = cr[o + n] * Zi + ci[o + n] * Zr;
        const F* wr = pw.wr.data() + n * kJ;
        const F* wi = pw.wi.data() + n * kJ;
#pragma omp simd
        for (int64_t j = 0; j < kJ; ++j) acc[j] += ar * wr[j] - ai * wi[j];
      }
      for (int64_t j = 0; j < jn; ++j) K[h * T + l0 + j] = F(2) * acc[j];
    }
  });
}

template <class F>
void ssm_kernel_backward(F* dp, F* dq, F* dcr, F* dci, const F* dK, const F* p, const F* q, const F* cr,
                         const F* ci, int64_t H, int64_t N, int64_t T) {
  for_each_channel(p, q, H, N, T, [&](int64_t h, const Powers<F>& pw, int64_t M) {
    const int64_t o = h * N;
    std::vector<F> g(M * kJ, F(0)), gl(M * kJ, F(0));  // dK_l and l dK_l, zero past T
    for (int64_t l = 0; l < T; ++l) {
      g[l] = dK[h * T + l];
      gl[l] = g[l] * static_cast<F>(l);
    }
    for (int64_t n = 0; n < N; ++n) {
      const F* wr = pw.wr.data() + n * kJ;
      const F* wi = pw.wi.data() + n * kJ;
      std::complex<double> S0 = 0.0, S1 = 0.0;
      for (int64_t m = 0; m < M; ++m) {
        const F* gm = g.data() + m * kJ;
        const F* glm = gl.data() + m * kJ;
        F s0r = 0, s0i = 0, s1r = 0, s1i = 0;
#pragma omp simd reduction(+ : s0r, s0i, s1r, s1i)
        for (int64_t j = 0; j < kJ; ++j) {
          s0r += gm[j] * wr[j];
          s0i += gm[j] * wi[j];
          s1r += glm[j] * wr[j];
          s1i += glm[j] * wi[j];
        }
        const std::complex<double> Z(pw.zr[n * M + m], pw.zi[n * M + m]);
        S0 += Z * std::complex<double>(s0r, s0i);
        S1 += Z * std::complex<double>(s1r, s1i);
      }
      const std::complex<double> CS1 = std::complex<double>(cr[o + n], ci[o + n]) * S1;
      dcr[o + n] = static_cast<F>(2.0 * S0.real());
      dci[o + n] = static_cast<F>(-2.0 * S0.imag());
      dp[o + n] = static_cast<F>(2.0 * CS1.real());
      dq[o + n] = static_cast<F>(-2.0 * CS1.imag());
    }
  });
}

template void ssm_kernel_forward<float>(float*, const float*, const float*, const float*, const float*, int64_t,
                                        int64_t, int64_t);
template void ssm_kernel_forward<double>(double*, const double*, const double*, const double*, const double*,
                                         int64_t, int64_t, int64_t);
template void ssm_kernel_backward<float>(float*, float*, float*, float*, const float*, const float*, const float*,
                                         const float*, const float*, int64_t, int64_t, int64_t);
template void ssm_kernel_backward<double>(double*, double*, double*, double*, const double*, const double*,
                                          const double*, const double*, const double*, int64_t, int64_t, int64_t);

}  // namespace rotor::kernels
