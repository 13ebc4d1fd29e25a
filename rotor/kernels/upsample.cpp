#include "rotor/kernels/upsample.h"

#include <algorithm>
#include <vector>

#include "rotor/core/threads.h"

namespace rotor::kernels {

namespace {

// The two source taps and their weights of every output position along one axis.
struct Taps {
  std::vector<int64_t> lo, hi;
  std::vector<double> frac;  // weight of hi; lo gets 1 - frac
};

Taps taps(int64_t in, int64_t out, bool align_corners) {
  Taps t;
  const double scale = align_corners ? (out > 1 ? double(in - 1) / double(out - 1) : 0.0) : double(in) / double(out);
  for (int64_t o = 0; o < out; ++o) {
    const double s = align_corners ? scale * double(o) : std::max(scale * (double(o) + 0.5) - 0.5, 0.0);
    const int64_t lo = std::min(static_cast<int64_t>(s), in - 1);
    t.lo.push_back(lo);
    t.hi.push_back(lo < in - 1 ? lo + 1 : lo);
    t.frac.push_back(s - double(lo));
  }
  return t;
}

template <class F>
void over_planes(int64_t planes, int64_t work, F&& f) {
#pragma omp parallel for schedule(static) if (planes > 1 && planes * work >= kParallelThreshold)
  for (int64_t p = 0; p < planes; ++p) f(p);
}

}  // namespace

template <class T>
void upsample_bilinear2d_forward(T* y, const T* x, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 bool align_corners) {
  const Taps th = taps(H, OH, align_corners), tw = taps(W, OW, align_corners);
  over_planes(planes, OH * OW * 4, [&](int64_t p) {
    const T* xp = x + p * H * W;
    T* yp = y + p * OH * OW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      const T fh = T(th.frac[oh]);
      const T* r0 = xp + th.lo[oh] * W;
      const T* r1 = xp + th.hi[oh] * W;
      for (int64_t ow = 0; ow < OW; ++ow) {
        const T fw = T(tw.frac[ow]);
        const int64_t a = tw.lo[ow], b = tw.hi[ow];
        const T top = r0[a] * (1 - fw) + r0[b] * fw, bottom = r1[a] * (1 - fw) + r1[b] * fw;
        yp[oh * OW + ow] = top * (1 - fh) + bottom * fh;
      }
    }
  });
}

template <class T>
void upsample_bilinear2d_backward(T* dx, const T* dy, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                  bool align_corners) {
  const Taps th = taps(H, OH, align_corners), tw = taps(W, OW, align_corners);
  over_planes(planes, OH * OW * 4, [&](int64_t p) {
    T* dxp = dx + p * H * W;
    const T* dyp = dy + p * OH * OW;
    std::fill(dxp, dxp + H * W, T(0));
    for (int64_t oh = 0; oh < OH; ++oh) {
      const T fh = T(th.frac[oh]);
      T* r0 = dxp + th.lo[oh] * W;
      T* r1 = dxp + th.hi[oh] * W;
      for (int64_t ow = 0; ow < OW; ++ow) {
        const T fw = T(tw.frac[ow]), g = dyp[oh * OW + ow];
        const int64_t a = tw.lo[ow], b = tw.hi[ow];
        r0[a] += g * (1 - fh) * (1 - fw);
        r0[b] += g * (1 - fh) * fw;
        r1[a] += g * fh * (1 - fw);
        r1[b] += g * fh * fw;
      }
    }
  });
}

template <class T>
void max_unpool2d_forward(T* y, const T* x, const int32_t* idx, int64_t planes, int64_t L, int64_t OL) {
  over_planes(planes, L, [&](int64_t p) {
    T* yp = y + p * OL;
    std::fill(yp, yp + OL, T(0));
    for (int64_t i = 0; i < L; ++i) yp[idx[p * L + i]] = x[p * L + i];
  });
}

template <class T>
void max_unpool2d_backward(T* dx, const T* dy, const int32_t* idx, int64_t planes, int64_t L, int64_t OL) {
  over_planes(planes, L, [&](int64_t p) {
    for (int64_t i = 0; i < L; ++i) dx[p * L + i] = dy[p * OL + idx[p * L + i]];
  });
}

#define ROTOR_INSTANTIATE_UPSAMPLE(T)                                                                            \
  template void upsample_bilinear2d_forward<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t, bool);  \
  template void upsample_bilinear2d_backward<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t, bool); \
  template void max_unpool2d_forward<T>(T*, const T*, const int32_t*, int64_t, int64_t, int64_t);                 \
  template void max_unpool2d_backward<T>(T*, const T*, const int32_t*, int64_t, int64_t, int64_t);
ROTOR_INSTANTIATE_UPSAMPLE(float)
ROTOR_INSTANTIATE_UPSAMPLE(double)
#undef ROTOR_INSTANTIATE_UPSAMPLE

}  // namespace rotor::kernels
