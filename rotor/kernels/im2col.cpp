#include "rotor/kernels/im2col.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rotor/core/threads.h"

namespace rotor::kernels {

template <class T>
void im2col(const T* x, const Conv2dGeometry& g, T* cols) {
  const int64_t OH = g.out_h(), OW = g.out_w();
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.KH; ++i)
      for (int64_t j = 0; j < g.KW; ++j) {
        T* row = cols + ((c * g.KH + i) * g.KW + j) * OH * OW;
        for (int64_t oh = 0; oh < OH; ++oh) {
          const int64_t h = oh * g.SH - g.PH + i * g.DH;
          T* out = row + oh * OW;
          if (h < 0 || h >= g.H) {
            for (int64_t ow = 0; ow < OW; ++ow) out[ow] = T(0);
            continue;
          }
          const T* src = x + (c * g.H + h) * g.W;
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t w = ow * g.SW - g.PW + j * g.DW;
            out[ow] = (w >= 0 && w < g.W) ? src[w] : T(0);
          }
        }
      }
}

template <class T>
void col2im(const T* cols, const Conv2dGeometry& g, T* x) {
  const int64_t OH = g.out_h(), OW = g.out_w();
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.KH; ++i)
      for (int64_t j = 0; j < g.KW; ++j) {
        const T* row = cols + ((c * g.KH + i) * g.KW + j) * OH * OW;
        for (int64_t oh = 0; oh < OH; ++oh) {
          const int64_t h = oh * g.SH - g.PH + i * g.DH;
          if (h < 0 || h >= g.H) continue;
          T* dst = x + (c * g.H + h) * g.W;
          const T* in = row + oh * OW;
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t w = ow * g.SW - g.PW + j * g.DW;
            if (w >= 0 && w < g.W) dst[w] += in[ow];
          }
        }
      }
}

namespace {

// Calls f(plane, OH, OW) for every plane, in parallel when the work is large (one plane per thread, so
// the backward scatters do not race).
template <class F>
void over_planes(int64_t planes, const Conv2dGeometry& g, F&& f) {
  const int64_t OH = g.out_h(), OW = g.out_w();
  const bool parallel = planes > 1 && planes * OH * OW * g.KH * g.KW >= kParallelThreshold;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t p = 0; p < planes; ++p) f(p, OH, OW);
}

// The taps [lo, hi) of a window starting at `start` (stride `step`) that fall inside [0, size).
inline void inside(int64_t start, int64_t step, int64_t taps, int64_t size, int64_t& lo, int64_t& hi) {
  lo = 0;
  while (lo < taps && start + lo * step < 0) ++lo;
  hi = taps;
  while (hi > lo && start + (hi - 1) * step >= size) --hi;
}

// Calls f(o, i0, i1, j0, j1, h0, w0) for every output o of a plane: tap (i, j) of its window is at plane
// index (h0 + i DH) W + w0 + j DW, and only the taps i in [i0, i1), j in [j0, j1) fall inside the image.
template <class F>
void windows(const Conv2dGeometry& g, int64_t OH, int64_t OW, F&& f) {
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t h0 = oh * g.SH - g.PH;
    int64_t i0, i1;
    inside(h0, g.DH, g.KH, g.H, i0, i1);
    for (int64_t ow = 0; ow < OW; ++ow) {
      const int64_t w0 = ow * g.SW - g.PW;
      int64_t j0, j1;
      inside(w0, g.DW, g.KW, g.W, j0, j1);
      f(oh * OW + ow, i0, i1, j0, j1, h0, w0);
    }
  }
}

}  // namespace

// One tap of a max-pool window: keeps the maximum (the last NaN if the window holds one, else the first
// maximum) and its plane index. Bitwise, not short-circuit, so that it compiles to selects: the maximum's
// place is random, and a branch on it mispredicts.
template <class T, class I>
inline void take_max(T v, I idx, T& best, I& at) {
  const bool take = (v > best) | (v != v);
  best = take ? v : best;
  at = take ? idx : at;
}

// 2x2 windows at stride 2 without padding (the pooling layer of most CNNs): one output row from two input
// rows, in vector lanes; the general loop below spends ~20 ns an output clipping windows.
template <class T>
void max_pool2d_2x2s2(T* y, int32_t* argmax, const T* x, int64_t planes, const Conv2dGeometry& g) {
  over_planes(planes, g, [&](int64_t p, int64_t OH, int64_t OW) {
    const T* plane = x + p * g.H * g.W;
    const int32_t W = static_cast<int32_t>(g.W);
    for (int64_t oh = 0; oh < OH; ++oh) {
      const T* r0 = plane + 2 * oh * g.W;
      const T* r1 = r0 + g.W;
      T* yr = y + (p * OH + oh) * OW;
      int32_t* ar = argmax + (p * OH + oh) * OW;
      const int32_t row = static_cast<int32_t>(2 * oh * g.W);
#pragma omp simd
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int32_t i0 = row + 2 * static_cast<int32_t>(ow);
        T best = r0[2 * ow];
        int32_t at = i0;
        take_max(r0[2 * ow + 1], i0 + 1, best, at);
        take_max(r1[2 * ow], i0 + W, best, at);
        take_max(r1[2 * ow + 1], i0 + W + 1, best, at);
        yr[ow] = best;
        ar[ow] = at;
      }
    }
  });
}

template <class T>
void max_pool2d_forward(T* y, int32_t* argmax, const T* x, int64_t planes, const Conv2dGeometry& g) {
  if (g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.PH == 0 && g.PW == 0 && g.DH == 1 && g.DW == 1)
    return max_pool2d_2x2s2<T>(y, argmax, x, planes, g);
  over_planes(planes, g, [&](int64_t p, int64_t OH, int64_t OW) {
    const T* plane = x + p * g.H * g.W;
    T* yp = y + p * OH * OW;
    int32_t* ap = argmax + p * OH * OW;
    windows(g, OH, OW, [&](int64_t o, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t h0, int64_t w0) {
      T best = -std::numeric_limits<T>::infinity();
      int64_t at = i0 < i1 && j0 < j1 ? (h0 + i0 * g.DH) * g.W + w0 + j0 * g.DW : -1;
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) {
          const int64_t idx = (h0 + i * g.DH) * g.W + w0 + j * g.DW;
          take_max(plane[idx], idx, best, at);
        }
      yp[o] = best;
      ap[o] = static_cast<int32_t>(at);
    });
  });
}

template <class T>
void max_pool2d_backward(T* dx, const T* dy, const int32_t* argmax, int64_t planes, const Conv2dGeometry& g) {
  over_planes(planes, g, [&](int64_t p, int64_t OH, int64_t OW) {
    T* plane = dx + p * g.H * g.W;
    const int64_t L = OH * OW;
    for (int64_t o = 0; o < L; ++o)
      if (argmax[p * L + o] >= 0) plane[argmax[p * L + o]] += dy[p * L + o];
  });
}

template <class T>
void avg_pool2d_forward(T* y, const T* x, int64_t planes, const Conv2dGeometry& g) {
  const T scale = T(1) / static_cast<T>(g.KH * g.KW);
  over_planes(planes, g, [&](int64_t p, int64_t OH, int64_t OW) {
    const T* plane = x + p * g.H * g.W;
    windows(g, OH, OW, [&](int64_t o, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t h0, int64_t w0) {
      T sum = 0;
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) sum += plane[(h0 + i * g.DH) * g.W + w0 + j * g.DW];
      y[p * OH * OW + o] = sum * scale;
    });
  });
}

template <class T>
void avg_pool2d_backward(T* dx, const T* dy, int64_t planes, const Conv2dGeometry& g) {
  const T scale = T(1) / static_cast<T>(g.KH * g.KW);
  over_planes(planes, g, [&](int64_t p, int64_t OH, int64_t OW) {
    T* plane = dx + p * g.H * g.W;
    windows(g, OH, OW, [&](int64_t o, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t h0, int64_t w0) {
      const T d = dy[p * OH * OW + o] * scale;
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) plane[(h0 + i * g.DH) * g.W + w0 + j * g.DW] += d;
    });
  });
}

template <class T>
void upsample_nearest2d_forward(T* y, const T* x, int64_t planes, int64_t H, int64_t W, int64_t fh, int64_t fw) {
  const int64_t OW = W * fw;
  const bool parallel = planes > 1 && planes * H * W * fh * fw >= kParallelThreshold;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < planes * H; ++r) {  // one input row: fh output rows
    const T* in = x + r * W;
    T* out = y + r * fh * OW;
    for (int64_t w = 0; w < W; ++w)
      for (int64_t j = 0; j < fw; ++j) out[w * fw + j] = in[w];
    for (int64_t i = 1; i < fh; ++i) std::copy(out, out + OW, out + i * OW);
  }
}

template <class T>
void upsample_nearest2d_backward(T* dx, const T* dy, int64_t planes, int64_t H, int64_t W, int64_t fh, int64_t fw) {
  const int64_t OW = W * fw;
  const bool parallel = planes > 1 && planes * H * W * fh * fw >= kParallelThreshold;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < planes * H; ++r) {
    const T* in = dy + r * fh * OW;
    T* out = dx + r * W;
    for (int64_t w = 0; w < W; ++w) {
      T sum = 0;
      for (int64_t i = 0; i < fh; ++i)
        for (int64_t j = 0; j < fw; ++j) sum += in[i * OW + w * fw + j];
      out[w] = sum;
    }
  }
}

#define ROTOR_INSTANTIATE_POOL(T)                                                                          \
  template void max_pool2d_forward<T>(T*, int32_t*, const T*, int64_t, const Conv2dGeometry&);              \
  template void max_pool2d_backward<T>(T*, const T*, const int32_t*, int64_t, const Conv2dGeometry&);       \
  template void avg_pool2d_forward<T>(T*, const T*, int64_t, const Conv2dGeometry&);                        \
  template void avg_pool2d_backward<T>(T*, const T*, int64_t, const Conv2dGeometry&);                       \
  template void upsample_nearest2d_forward<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t);    \
  template void upsample_nearest2d_backward<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t);
ROTOR_INSTANTIATE_POOL(float)
ROTOR_INSTANTIATE_POOL(double)
#undef ROTOR_INSTANTIATE_POOL

template void im2col<float>(const float*, const Conv2dGeometry&, float*);
template void im2col<double>(const double*, const Conv2dGeometry&, double*);
template void col2im<float>(const float*, const Conv2dGeometry&, float*);
template void col2im<double>(const double*, const Conv2dGeometry&, double*);

}  // namespace rotor::kernels
