#include "rotor/kernels/im2col.h"

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

template void im2col<float>(const float*, const Conv2dGeometry&, float*);
template void im2col<double>(const double*, const Conv2dGeometry&, double*);
template void col2im<float>(const float*, const Conv2dGeometry&, float*);
template void col2im<double>(const double*, const Conv2dGeometry&, double*);

}  // namespace rotor::kernels
