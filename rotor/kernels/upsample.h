#pragma once
// Bilinear resampling and max-unpooling of `planes` images (NCHW, batch and channels flattened).
//
// Bilinear (PyTorch's interpolate(mode="bilinear") given an output size): output row oh reads the
// source coordinate s = oh (H - 1) / (OH - 1) with align_corners (0 when OH = 1), else
// s = max((oh + 0.5) H / OH - 0.5, 0); it blends rows floor(s) and floor(s) + 1 (clamped to H - 1) with
// weights 1 - frac, frac, and likewise along columns.
//   forward:  x [planes, H, W] -> y [planes, OH, OW] (written)
//   backward: dy [planes, OH, OW] -> dx [planes, H, W] (written)
// Max-unpooling: y [planes, OH, OW] zero except y[p, idx[p, i]] = x[p, i] (idx as max_pool2d's argmax,
// the plane index h * OW + w); its backward gathers dx[p, i] = dy[p, idx[p, i]].
#include <cstdint>

namespace rotor::kernels {

template <class T>
void upsample_bilinear2d_forward(T* y, const T* x, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 bool align_corners);
template <class T>
void upsample_bilinear2d_backward(T* dx, const T* dy, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                  bool align_corners);

template <class T>
void max_unpool2d_forward(T* y, const T* x, const int32_t* idx, int64_t planes, int64_t L, int64_t OL);
template <class T>
void max_unpool2d_backward(T* dx, const T* dy, const int32_t* idx, int64_t planes, int64_t L, int64_t OL);

}  // namespace rotor::kernels
