#pragma once
// im2col / col2im for 2-D convolutions over one image (NCHW layout, batch handled by the caller).
//   x: [C, H, W];  cols: [C * KH * KW, OH * OW] with row (c, i, j) and column (oh, ow) holding
//   x[c, oh*SH - PH + i*DH, ow*SW - PW + j*DW] (zero outside the image).
// col2im is the adjoint: it adds each column entry back into its image position.
#include <cstdint>

namespace rotor::kernels {

struct Conv2dGeometry {
  int64_t C = 1, H = 1, W = 1;     // input channels and size
  int64_t KH = 1, KW = 1;          // kernel size
  int64_t SH = 1, SW = 1;          // stride
  int64_t PH = 0, PW = 0;          // zero padding
  int64_t DH = 1, DW = 1;          // dilation
  int64_t out_h() const { return (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1; }
  int64_t out_w() const { return (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1; }
};

template <class T> void im2col(const T* x, const Conv2dGeometry& g, T* cols);
// x (+=) from cols.
template <class T> void col2im(const T* cols, const Conv2dGeometry& g, T* x);

// Pooling over the windows of `planes` images [H, W] each (g.C is ignored; padding and dilation as in
// the geometry). Max: y [planes, OH, OW] and argmax (the index h * W + w of each maximum in its plane:
// the first in window order on ties, as PyTorch picks; a NaN wins, as in PyTorch); its backward adds
// dy into dx at those indices. Average: the mean over each window (padding counted as zeros, PyTorch's
// count_include_pad); its backward spreads dy evenly. dx is added to (+=).
template <class T>
void max_pool2d_forward(T* y, int32_t* argmax, const T* x, int64_t planes, const Conv2dGeometry& g);
template <class T>
void max_pool2d_backward(T* dx, const T* dy, const int32_t* argmax, int64_t planes, const Conv2dGeometry& g);
template <class T> void avg_pool2d_forward(T* y, const T* x, int64_t planes, const Conv2dGeometry& g);
template <class T> void avg_pool2d_backward(T* dx, const T* dy, int64_t planes, const Conv2dGeometry& g);

// Nearest-neighbour upsampling of `planes` images [H, W] by integer factors: y [planes, H fh, W fw]
// (written); the backward sums each fh x fw block of dy into dx (written).
template <class T> void upsample_nearest2d_forward(T* y, const T* x, int64_t planes, int64_t H, int64_t W, int64_t fh,
                                                   int64_t fw);
template <class T> void upsample_nearest2d_backward(T* dx, const T* dy, int64_t planes, int64_t H, int64_t W,
                                                    int64_t fh, int64_t fw);

}  // namespace rotor::kernels
