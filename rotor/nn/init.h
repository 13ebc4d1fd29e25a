#pragma once
// Parameter initialisers drawing from an explicit Rng (row-major order), so a seed fixes a model.
#include "rotor/core/rng.h"
#include "rotor/core/tensor.h"

namespace rotor::nn {

Tensor uniform_tensor(const Shape& shape, double lo, double hi, Rng& rng, DType dtype = DType::f32);
Tensor normal_tensor(const Shape& shape, double mean, double std, Rng& rng, DType dtype = DType::f32);

}  // namespace rotor::nn
