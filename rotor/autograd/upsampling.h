#pragma once
// Resampling ops of the convolution toolbox (NCHW), beside conv.h's pooling and nearest upsampling:
// PixelShuffle / PixelUnshuffle (views and a permute), bilinear upsampling (align_corners true and false,
// PyTorch's coordinate rule) and max-unpooling from max_pool2d's indices.
#include <array>
#include <cstdint>

#include "rotor/autograd/var.h"

namespace rotor::autograd {

// [N, C r^2, H, W] -> [N, C, H r, W r]: channel c r^2 + i r + j goes to pixel (h r + i, w r + j).
Var pixel_shuffle(const Var& x, int64_t r);
// The inverse: [N, C, H r, W r] -> [N, C r^2, H, W].
Var pixel_unshuffle(const Var& x, int64_t r);

// [N, C, H, W] -> [N, C, size[0], size[1]] (kernels/upsample.h states the coordinate rule).
Var upsample_bilinear2d(const Var& x, std::array<int64_t, 2> size, bool align_corners);

// max_pool2d (conv.h) and the index of every maximum in its plane (h * W + w, i32 [N, C, OH, OW]), as
// PyTorch's return_indices=True gives.
struct PoolWithIndices {
  Var output;
  Tensor indices;
};
PoolWithIndices max_pool2d_with_indices(const Var& x, std::array<int64_t, 2> kernel,
                                        std::array<int64_t, 2> stride = {0, 0});
// x: [N, C, H, W], indices: [N, C, H, W] from max_pool2d_with_indices -> [N, C, size[0], size[1]], zero
// except at the indices (MaxUnpool2d).
Var max_unpool2d(const Var& x, const Tensor& indices, std::array<int64_t, 2> size);

}  // namespace rotor::autograd
