#pragma once
// 2-D convolution on oneDNN's convolution primitives (f32, NCHW tensors, PyTorch's weight layout
// [O, C, KH, KW] and symmetric zero padding). oneDNN picks its own blocked layouts; inputs and outputs
// are reordered to and from the plain ones around each call. Primitives are created once per geometry.
// autograd's conv2d takes this path for f32 (its f64 form, the gradient-check reference, is im2col and
// a GEMM).
#include <cstdint>

#include "rotor/kernels/im2col.h"

namespace rotor::kernels {

// x: [N, C, H, W]; w: [O, C, KH, KW]; b: [O] or null; y: [N, O, OH, OW] (written).
void conv2d_forward_f32(float* y, const float* x, const float* w, const float* b, int64_t N, int64_t O,
                        const Conv2dGeometry& g);
// dx: [N, C, H, W] (written) from dy: [N, O, OH, OW].
void conv2d_backward_data_f32(float* dx, const float* dy, const float* w, int64_t N, int64_t O,
                              const Conv2dGeometry& g);
// dw: [O, C, KH, KW] and db: [O] (written; db may be null) from dy and x.
void conv2d_backward_weights_f32(float* dw, float* db, const float* dy, const float* x, int64_t N, int64_t O,
                                 const Conv2dGeometry& g);

}  // namespace rotor::kernels
