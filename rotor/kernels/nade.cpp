#include "rotor/kernels/nade.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "rotor/core/threads.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

namespace {

// h = sigmoid(a) over H values.
template <class T>
inline void sigmoid_row(T* h, const T* a, int64_t H) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) h[j] = math_of<T>::sigmoid(a[j]);
}

template <class T>
inline T dot(const T* u, const T* v, int64_t H) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < H; ++j) s += u[j] * v[j];
  return s;
}

template <class T>
inline void axpy(T* y, T alpha, const T* v, int64_t H) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) y[j] += alpha * v[j];
}

// The hidden rows h_t of one input row into hs [D, H] (when hs is set) and its logits into out (when set).
template <class T>
void nade_row(const T* x, const T* W, const T* c, const T* V, const T* b, const int64_t* order, int64_t D, int64_t H,
              T* a, T* h_scratch, T* hs, T* out) {
  std::copy(c, c + H, a);
  for (int64_t t = 0; t < D; ++t) {
    const int64_t p = order[t];
    T* h = hs ? hs + t * H : h_scratch;
    sigmoid_row(h, a, H);
    if (out) out[p] = b[p] + dot(V + p * H, h, H);
    if (x[p] != T(0)) axpy(a, x[p], W + p * H, H);
  }
}

// The number of row ranges (threads) for N rows of the given work each.
int row_threads(int64_t N, int64_t work_per_row) {
  if (N <= 1 || N * work_per_row < kParallelThreshold) return 1;
  return std::max(1, std::min<int>(num_threads(), static_cast<int>(N)));
}

// Splits rows [0, N) into `threads` contiguous ranges and calls fn(range, begin, end), one range per thread.
template <class Fn>
void per_thread_rows(int64_t N, int threads, Fn&& fn) {
#pragma omp parallel for schedule(static, 1) num_threads(threads) if (threads > 1)
  for (int k = 0; k < threads; ++k) fn(k, N * k / threads, N * (k + 1) / threads);
}

}  // namespace

template <class T>
void nade_forward(T* logits, const T* x, const T* W, const T* c, const T* V, const T* b, const int64_t* order,
                  int64_t N, int64_t D, int64_t H) {
  per_thread_rows(N, row_threads(N, D * H), [&](int, int64_t begin, int64_t end) {
    std::vector<T> a(static_cast<size_t>(H)), h(static_cast<size_t>(H));
    for (int64_t n = begin; n < end; ++n)
      nade_row(x + n * D, W, c, V, b, order, D, H, a.data(), h.data(), static_cast<T*>(nullptr), logits + n * D);
  });
}

template <class T>
void nade_backward(T* dx, T* dW, T* dc, T* dV, T* db, const T* g, const T* x, const T* W, const T* c, const T* V,
                   const int64_t* order, int64_t N, int64_t D, int64_t H) {
  const int threads = row_threads(N, 3 * D * H);
  // Per-range partials of dW, dV (D H each), dc (H) and db (D).
  const size_t part = static_cast<size_t>(2 * D * H + H + D);
  std::vector<std::vector<T>> partials(static_cast<size_t>(threads));
  per_thread_rows(N, threads, [&](int k, int64_t begin, int64_t end) {
    std::vector<T>& acc = partials[static_cast<size_t>(k)];
    acc.assign(part, T(0));
    T *pW = acc.data(), *pV = pW + D * H, *pc = pV + D * H, *pb = pc + H;
    std::vector<T> a(static_cast<size_t>(H)), r(static_cast<size_t>(H)), hs(static_cast<size_t>(D * H));
    for (int64_t n = begin; n < end; ++n) {
      const T* xn = x + n * D;
      const T* gn = g + n * D;
      nade_row(xn, W, c, V, static_cast<const T*>(nullptr), order, D, H, a.data(), static_cast<T*>(nullptr),
               hs.data(), static_cast<T*>(nullptr));
      std::fill(r.begin(), r.end(), T(0));  // r = sum over later t' of d a_{t'}
      for (int64_t t = D - 1; t >= 0; --t) {
        const int64_t p = order[t];
        const T* h = hs.data() + t * H;
        // x[p] enters every later a_{t'}: its gradient and W[p]'s come from r before adding d a_t.
        if (dx) dx[n * D + p] = dot(W + p * H, r.data(), H);
        if (xn[p] != T(0)) axpy(pW + p * H, xn[p], r.data(), H);
        const T gp = gn[p];
        pb[p] += gp;
        if (gp == T(0)) continue;
        axpy(pV + p * H, gp, h, H);
        const T* vp = V + p * H;
        T* rr = r.data();
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) rr[j] += gp * vp[j] * h[j] * (T(1) - h[j]);
      }
      axpy(pc, T(1), r.data(), H);
    }
  });
  for (const std::vector<T>& p : partials) {
    const T* acc = p.data();
    axpy(dW, T(1), acc, D * H);
    axpy(dV, T(1), acc + D * H, D * H);
    axpy(dc, T(1), acc + 2 * D * H, H);
    axpy(db, T(1), acc + 2 * D * H + H, D);
  }
}

template <class T>
void nade_sample(T* x, const T* u, const T* W, const T* c, const T* V, const T* b, const int64_t* order, int64_t N,
                 int64_t D, int64_t H) {
  per_thread_rows(N, row_threads(N, D * H), [&](int, int64_t begin, int64_t end) {
    std::vector<T> a(static_cast<size_t>(H)), h(static_cast<size_t>(H));
    for (int64_t n = begin; n < end; ++n) {
      T* xn = x + n * D;
      std::copy(c, c + H, a.data());
      for (int64_t t = 0; t < D; ++t) {
        const int64_t p = order[t];
        sigmoid_row(h.data(), a.data(), H);
        const T logit = b[p] + dot(V + p * H, h.data(), H);
        xn[p] = u[n * D + p] < T(1) / (T(1) + std::exp(-logit)) ? T(1) : T(0);
        if (xn[p] != T(0)) axpy(a.data(), T(1), W + p * H, H);
      }
    }
  });
}

template void nade_forward<float>(float*, const float*, const float*, const float*, const float*, const float*,
                                  const int64_t*, int64_t, int64_t, int64_t);
template void nade_forward<double>(double*, const double*, const double*, const double*, const double*,
                                   const double*, const int64_t*, int64_t, int64_t, int64_t);
template void nade_backward<float>(float*, float*, float*, float*, float*, const float*, const float*, const float*,
                                   const float*, const float*, const int64_t*, int64_t, int64_t, int64_t);
template void nade_backward<double>(double*, double*, double*, double*, double*, const double*, const double*,
                                    const double*, const double*, const double*, const int64_t*, int64_t, int64_t,
                                    int64_t);

template void nade_sample<float>(float*, const float*, const float*, const float*, const float*, const float*,
                                 const int64_t*, int64_t, int64_t, int64_t);
template void nade_sample<double>(double*, const double*, const double*, const double*, const double*,
                                  const double*, const int64_t*, int64_t, int64_t, int64_t);

}  // namespace rotor::kernels
