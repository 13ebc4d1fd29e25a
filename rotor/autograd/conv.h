#pragma once
// Convolutions and pooling (NCHW), built on two primitive ops with their adjoint backwards:
// unfold2d (im2col: sliding patches to columns) and fold2d (col2im: columns added back into an image).
// conv2d is then weight · unfold(x) through the GEMM, conv_transpose2d is fold(weight^T · x), and pooling
// reduces unfolded patches; their gradients follow from the composed ops.
#include <array>
#include <cstdint>

#include "rotor/autograd/var.h"

namespace rotor::autograd {

struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};   // zeros on each side
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;  // channels split into groups convolved separately (conv2d: weight [O, C / groups, KH, KW])
};

// x: [N, C, H, W] -> [N, C * KH * KW, OH * OW], OH = (H + 2 PH - DH (KH - 1) - 1) / SH + 1.
Var unfold2d(const Var& x, std::array<int64_t, 2> kernel, const Conv2dOptions& o = {});
// cols: [N, C * KH * KW, OH * OW] -> [N, C, H, W] (overlaps add up); the adjoint of unfold2d.
Var fold2d(const Var& cols, std::array<int64_t, 2> image, std::array<int64_t, 2> kernel, const Conv2dOptions& o = {});

// x: [N, C, H, W], weight: [O, C / groups, KH, KW], bias: [O] or undefined -> [N, O, OH, OW].
Var conv2d(const Var& x, const Var& weight, const Var& bias = Var(), const Conv2dOptions& o = {});
// x: [N, C, L], weight: [O, C, K], bias: [O] or undefined -> [N, O, OL].
Var conv1d(const Var& x, const Var& weight, const Var& bias = Var(), int64_t stride = 1, int64_t padding = 0,
           int64_t dilation = 1);
// x: [N, Cin, H, W], weight: [Cin, Cout / groups, KH, KW] (PyTorch's layout), bias: [Cout] -> [N, Cout, OH, OW] with
// OH = (H - 1) SH - 2 PH + DH (KH - 1) + output_padding + 1.
Var conv_transpose2d(const Var& x, const Var& weight, const Var& bias = Var(), const Conv2dOptions& o = {},
                     std::array<int64_t, 2> output_padding = {0, 0});

// Pooling over kernel windows (stride defaults to the kernel size, no padding): [N, C, H, W] -> [N, C, OH, OW].
Var max_pool2d(const Var& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride = {0, 0});
Var avg_pool2d(const Var& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride = {0, 0});
// Nearest-neighbour upsampling by integer factors: [N, C, H, W] -> [N, C, H fh, W fw].
Var upsample_nearest2d(const Var& x, std::array<int64_t, 2> factor);

}  // namespace rotor::autograd
