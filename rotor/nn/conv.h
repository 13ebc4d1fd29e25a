#pragma once
// Convolution modules (NCHW) over rotor/autograd/conv.h. Parameter names follow PyTorch.
#include <array>

#include "rotor/autograd/conv.h"
#include "rotor/core/rng.h"
#include "rotor/nn/module.h"

namespace rotor::nn {

// weight: [out, in, KH, KW], bias: [out]; initialised U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as in PyTorch.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel, const autograd::Conv2dOptions& options,
         bool bias, Rng& rng, DType dtype = DType::f32);
  Var forward(const Var& x) const;  // [N, in, H, W] -> [N, out, OH, OW]

 private:
  Var weight_, bias_;
  autograd::Conv2dOptions options_;
};

// weight: [in, out, KH, KW] (PyTorch's layout), bias: [out].
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel,
                  const autograd::Conv2dOptions& options, std::array<int64_t, 2> output_padding, bool bias, Rng& rng,
                  DType dtype = DType::f32);
  Var forward(const Var& x) const;

 private:
  Var weight_, bias_;
  autograd::Conv2dOptions options_;
  std::array<int64_t, 2> output_padding_;
};

}  // namespace rotor::nn
