#include "rotor/kernels/selective_scan.h"

#include <algorithm>
#include <vector>

#include "rotor/core/threads.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

namespace {

constexpr int64_t kLanes = 16;  // channels per task (one AVX-512 vector of floats)

// One task's view: batch row b, channels e0 .. e0 + width - 1 (width <= kLanes). Lanes past width hold
// zeros (x = delta = dy = 0, so their states and gradients stay zero and add nothing to the sums).
struct Task {
  int64_t b, e0, width;
};

template <class F>
struct Lanes {
  F v[kLanes];
};

// 16 channels of row (b, t) of a [B, T, E] tensor into lanes (zeros past width).
template <class F>
inline void load_lanes(F* out, const F* src, const Task& k, int64_t t, int64_t T, int64_t E) {
  const F* p = src + (k.b * T + t) * E + k.e0;
  for (int64_t j = 0; j < kLanes; ++j) out[j] = j < k.width ? p[j] : F(0);
}

template <class F>
inline void store_lanes(F* dst, const F* in, const Task& k, int64_t t, int64_t T, int64_t E) {
  F* p = dst + (k.b * T + t) * E + k.e0;
  for (int64_t j = 0; j < k.width; ++j) p[j] = in[j];
}

// A's rows e0 .. e0 + width - 1 transposed to at[n * kLanes + j] (zeros past width), and D likewise.
template <class F>
void load_task_params(F* at, F* dv, const F* A, const F* D, const Task& k, int64_t N) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < kLanes; ++j) at[n * kLanes + j] = j < k.width ? A[(k.e0 + j) * N + n] : F(0);
  for (int64_t j = 0; j < kLanes; ++j) dv[j] = j < k.width ? D[k.e0 + j] : F(0);
}

// The recurrence over t for one task. When hs and as are given, every state h_t and decay a_t is kept
// there ([T, N, kLanes] each); otherwise h holds the running state. y (when given) receives the outputs.
template <class F>
void run_task(const Task& k, F* y, const F* x, const F* delta, const F* at, const F* dvec, const F* Bm, const F* Cm,
              int64_t T, int64_t E, int64_t N, F* h, F* hs, F* as) {
  F xv[kLanes], dl[kLanes], acc[kLanes];
  std::fill(h, h + N * kLanes, F(0));
  for (int64_t t = 0; t < T; ++t) {
    load_lanes(xv, x, k, t, T, E);
    load_lanes(dl, delta, k, t, T, E);
    const F* brow = Bm + (k.b * T + t) * N;
    const F* crow = Cm + (k.b * T + t) * N;
    for (int64_t j = 0; j < kLanes; ++j) acc[j] = dvec[j] * xv[j];
    F* hout = hs ? hs + t * N * kLanes : h;
    const F* hin = hs ? (t > 0 ? hs + (t - 1) * N * kLanes : h) : h;  // h is all zeros when hs is set
    for (int64_t n = 0; n < N; ++n) {
      const F bn = brow[n], cn = crow[n];
      const F* an = at + n * kLanes;
      const F* hp = hin + n * kLanes;
      F* ho = hout + n * kLanes;
      F* ao = as ? as + (t * N + n) * kLanes : nullptr;
#pragma omp simd
      for (int64_t j = 0; j < kLanes; ++j) {
        const F a = math_of<F>::exp(dl[j] * an[j]);
        const F hn = a * hp[j] + dl[j] * bn * xv[j];
        ho[j] = hn;
        acc[j] += cn * hn;
        if (ao) ao[j] = a;
      }
    }
    if (y) store_lanes(y, acc, k, t, T, E);
  }
}

std::vector<Task> make_tasks(int64_t B, int64_t E) {
  std::vector<Task> tasks;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t e0 = 0; e0 < E; e0 += kLanes) tasks.push_back({b, e0, std::min(kLanes, E - e0)});
  return tasks;
}

int task_threads(size_t tasks, int64_t work_per_task) {
  if (tasks <= 1 || static_cast<int64_t>(tasks) * work_per_task < kParallelThreshold) return 1;
  return std::max(1, std::min<int>(num_threads(), static_cast<int>(tasks)));
}

}  // namespace

template <class F>
void selective_scan_forward(F* y, const F* x, const F* delta, const F* A, const F* Bm, const F* Cm, const F* D,
                            int64_t B, int64_t T, int64_t E, int64_t N) {
  const std::vector<Task> tasks = make_tasks(B, E);
  const int64_t count = static_cast<int64_t>(tasks.size());
  const int threads = task_threads(tasks.size(), T * N * kLanes);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<F> at(static_cast<size_t>(N * kLanes)), h(static_cast<size_t>(N * kLanes));
    F dvec[kLanes];
#pragma omp for schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      load_task_params(at.data(), dvec, A, D, tasks[i], N);
      run_task(tasks[i], y, x, delta, at.data(), dvec, Bm, Cm, T, E, N, h.data(), static_cast<F*>(nullptr),
               static_cast<F*>(nullptr));
    }
  }
}

template <class F>
void selective_scan_backward(F* dx, F* ddelta, F* dA, F* dBm, F* dCm, F* dD, const F* dy, const F* x, const F* delta,
                             const F* A, const F* Bm, const F* Cm, const F* D, int64_t B, int64_t T, int64_t E,
                             int64_t N) {
  const std::vector<Task> tasks = make_tasks(B, E);
  const int64_t count = static_cast<int64_t>(tasks.size());
  const int64_t blocks = count / B;
  // Per-task partials: dBm, dCm [count, T, N]; dA [count, N, kLanes]; dD [count, kLanes].
  std::vector<F> pb(static_cast<size_t>(count * T * N)), pc(pb.size());
  std::vector<F> pa(static_cast<size_t>(count * N * kLanes)), pd(static_cast<size_t>(count * kLanes));
  const int threads = task_threads(tasks.size(), 3 * T * N * kLanes);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<F> at(static_cast<size_t>(N * kLanes)), zero(static_cast<size_t>(N * kLanes), F(0));
    std::vector<F> hs(static_cast<size_t>(T * N * kLanes)), as(hs.size()), gs(static_cast<size_t>(N * kLanes));
    F dvec[kLanes], xv[kLanes], dl[kLanes], dyv[kLanes], dxv[kLanes], ddv[kLanes];
#pragma omp for schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      const Task& k = tasks[i];
      load_task_params(at.data(), dvec, A, D, k, N);
      run_task(k, static_cast<F*>(nullptr), x, delta, at.data(), dvec, Bm, Cm, T, E, N, zero.data(), hs.data(),
               as.data());
      std::fill(gs.begin(), gs.end(), F(0));  // a_{t+1} g_{t+1}, zero past the end
      F* pai = pa.data() + i * N * kLanes;
      F* pdi = pd.data() + i * kLanes;
      for (int64_t t = T - 1; t >= 0; --t) {
        load_lanes(xv, x, k, t, T, E);
        load_lanes(dl, delta, k, t, T, E);
        load_lanes(dyv, dy, k, t, T, E);
        const F* brow = Bm + (k.b * T + t) * N;
        const F* crow = Cm + (k.b * T + t) * N;
        F* pbt = pb.data() + (i * T + t) * N;
        F* pct = pc.data() + (i * T + t) * N;
        for (int64_t j = 0; j < kLanes; ++j) {
          dxv[j] = dyv[j] * dvec[j];
          ddv[j] = 0;
          pdi[j] += dyv[j] * xv[j];
        }
        for (int64_t n = 0; n < N; ++n) {
          const F bn = brow[n], cn = crow[n];
          const F* an = at.data() + n * kLanes;
          const F* h = hs.data() + (t * N + n) * kLanes;
          const F* hp = t > 0 ? hs.data() + ((t - 1) * N + n) * kLanes : zero.data();
          const F* a = as.data() + (t * N + n) * kLanes;
          F* g = gs.data() + n * kLanes;
          F* dan = pai + n * kLanes;
          F sc = 0, sb = 0;
#pragma omp simd reduction(+ : sc, sb)
          for (int64_t j = 0; j < kLanes; ++j) {
            const F gj = g[j] + dyv[j] * cn;
            sc += dyv[j] * h[j];
            sb += gj * dl[j] * xv[j];
            dxv[j] += gj * dl[j] * bn;
            const F decay_grad = gj * a[j] * hp[j];  // d/d(delta_t A) of h_t, times g_t
            ddv[j] += decay_grad * an[j] + gj * bn * xv[j];
            dan[j] += decay_grad * dl[j];
            g[j] = gj * a[j];
          }
          pct[n] = sc;
          pbt[n] = sb;
        }
        store_lanes(dx, dxv, k, t, T, E);
        store_lanes(ddelta, ddv, k, t, T, E);
      }
    }
  }
  // Fixed-order sums of the partials: dBm, dCm over a row's channel blocks; dA, dD over the batch rows.
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t n = 0; n < N; ++n) {
        F sb = 0, sc = 0;
        for (int64_t blk = 0; blk < blocks; ++blk) {
          sb += pb[((b * blocks + blk) * T + t) * N + n];
          sc += pc[((b * blocks + blk) * T + t) * N + n];
        }
        dBm[(b * T + t) * N + n] = sb;
        dCm[(b * T + t) * N + n] = sc;
      }
  std::fill(dA, dA + E * N, F(0));
  std::fill(dD, dD + E, F(0));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const Task& k = tasks[b * blocks + blk];
      const F* pai = pa.data() + (b * blocks + blk) * N * kLanes;
      const F* pdi = pd.data() + (b * blocks + blk) * kLanes;
      for (int64_t j = 0; j < k.width; ++j) {
        for (int64_t n = 0; n < N; ++n) dA[(k.e0 + j) * N + n] += pai[n * kLanes + j];
        dD[k.e0 + j] += pdi[j];
      }
    }
}

#define ROTOR_SCAN_INSTANTIATE(F)                                                                                   \
  template void selective_scan_forward<F>(F*, const F*, const F*, const F*, const F*, const F*, const F*, int64_t,  \
                                          int64_t, int64_t, int64_t);                                               \
  template void selective_scan_backward<F>(F*, F*, F*, F*, F*, F*, const F*, const F*, const F*, const F*, const F*, \
                                           const F*, const F*, int64_t, int64_t, int64_t, int64_t);
ROTOR_SCAN_INSTANTIATE(float)
ROTOR_SCAN_INSTANTIATE(double)
#undef ROTOR_SCAN_INSTANTIATE

}  // namespace rotor::kernels
