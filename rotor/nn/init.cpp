#include "rotor/nn/init.h"

namespace rotor::nn {

Tensor uniform_tensor(const Shape& shape, double lo, double hi, Rng& rng, DType dtype) {
  Tensor t = Tensor::empty(shape, DType::f64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = lo + (hi - lo) * rng.uniform();
  return t.to(dtype);
}

Tensor normal_tensor(const Shape& shape, double mean, double std, Rng& rng, DType dtype) {
  Tensor t = Tensor::empty(shape, DType::f64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = mean + std * rng.normal();
  return t.to(dtype);
}

}  // namespace rotor::nn
