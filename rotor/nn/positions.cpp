#include "rotor/nn/positions.h"

#include <cmath>

#include "rotor/autograd/views.h"
#include "rotor/nn/init.h"

namespace rotor::nn {

Tensor sinusoidal_positions(int64_t length, int64_t dim, double base, DType dtype) {
  ROTOR_CHECK(length >= 0 && dim > 0 && dim % 2 == 0, "sinusoidal_positions: need an even dimension, got length ",
              length, " dim ", dim);
  Tensor pe = Tensor::empty({length, dim}, DType::f64);
  double* p = pe.data<double>();
  for (int64_t pos = 0; pos < length; ++pos)
    for (int64_t i = 0; i < dim / 2; ++i) {
      const double angle = static_cast<double>(pos) / std::pow(base, 2.0 * static_cast<double>(i) / static_cast<double>(dim));
      p[pos * dim + 2 * i] = std::sin(angle);
      p[pos * dim + 2 * i + 1] = std::cos(angle);
    }
  return pe.to(dtype);
}

LearnedPositions::LearnedPositions(int64_t max_length, int64_t dim, Rng& rng, double init_std, DType dtype) {
  ROTOR_CHECK(max_length > 0 && dim > 0, "LearnedPositions: sizes must be positive, got ", max_length, " x ", dim);
  weight_ = add_parameter("weight", normal_tensor({max_length, dim}, 0.0, init_std, rng, dtype));
}

Var LearnedPositions::forward(int64_t length, int64_t offset) const {
  ROTOR_CHECK(offset >= 0 && length >= 0 && offset + length <= max_length(), "LearnedPositions: positions [", offset,
              ", ", offset + length, ") exceed the table of ", max_length());
  return autograd::slice(weight_, 0, offset, offset + length);
}

}  // namespace rotor::nn
