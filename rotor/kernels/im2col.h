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

}  // namespace rotor::kernels
