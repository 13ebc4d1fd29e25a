#include "rotor/nn/conv.h"

#include <cmath>

#include "rotor/nn/init.h"

namespace rotor::nn {

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel,
               const autograd::Conv2dOptions& options, bool bias, Rng& rng, DType dtype)
    : options_(options) {
  ROTOR_CHECK(in_channels > 0 && out_channels > 0 && kernel[0] > 0 && kernel[1] > 0,
              "Conv2d: channels and kernel sizes must be positive");
  const double k = 1.0 / std::sqrt(static_cast<double>(in_channels * kernel[0] * kernel[1]));
  weight_ = add_parameter("weight", uniform_tensor({out_channels, in_channels, kernel[0], kernel[1]}, -k, k, rng, dtype));
  if (bias) bias_ = add_parameter("bias", uniform_tensor({out_channels}, -k, k, rng, dtype));
}

Var Conv2d::forward(const Var& x) const { return autograd::conv2d(x, weight_, bias_, options_); }

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel,
                                 const autograd::Conv2dOptions& options, std::array<int64_t, 2> output_padding,
                                 bool bias, Rng& rng, DType dtype)
    : options_(options), output_padding_(output_padding) {
  ROTOR_CHECK(in_channels > 0 && out_channels > 0 && kernel[0] > 0 && kernel[1] > 0,
              "ConvTranspose2d: channels and kernel sizes must be positive");
  // PyTorch's fan-in for transposed convolutions is weight.size(1) * KH * KW.
  const double k = 1.0 / std::sqrt(static_cast<double>(out_channels * kernel[0] * kernel[1]));
  weight_ = add_parameter("weight", uniform_tensor({in_channels, out_channels, kernel[0], kernel[1]}, -k, k, rng, dtype));
  if (bias) bias_ = add_parameter("bias", uniform_tensor({out_channels}, -k, k, rng, dtype));
}

Var ConvTranspose2d::forward(const Var& x) const {
  return autograd::conv_transpose2d(x, weight_, bias_, options_, output_padding_);
}

}  // namespace rotor::nn
