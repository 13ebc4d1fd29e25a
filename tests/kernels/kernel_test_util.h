#pragma once
// Helpers for kernel tests: random tensors (optionally as non-contiguous views) and index walking for
// straightforward double-precision reference loops.
#include <functional>
#include <vector>

#include "rotor/core/rng.h"
#include "rotor/core/tensor.h"

namespace rotor::testing_util {

// Random normal values in a tensor of `shape` and `dtype`; with `transposed` the last two dims are
// stored swapped so the view is not contiguous.
inline Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed, bool transposed = false,
                            double lo = 0, double hi = 0) {
  Rng rng(seed);
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = hi > lo ? lo + (hi - lo) * rng.uniform() : rng.normal();
  const Tensor dense = Tensor::from_vector(v, shape).to(dtype);
  if (!transposed || shape.size() < 2) return dense;
  Shape s = shape;
  std::swap(s[s.size() - 1], s[s.size() - 2]);
  Tensor t = Tensor::zeros(s, dtype).transpose(-1, -2);
  t.copy_(dense);
  return t;
}

// Calls f(index) for every index of `shape` in row-major order.
inline void for_each_index(const Shape& shape, const std::function<void(const std::vector<int64_t>&)>& f) {
  const int64_t n = shape_numel(shape);
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = i;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      idx[d] = r % shape[d];
      r /= shape[d];
    }
    f(idx);
  }
}

// The index into a tensor of `shape` that broadcasts to an output index `out_idx`.
inline std::vector<int64_t> broadcast_index(const std::vector<int64_t>& out_idx, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  const size_t lead = out_idx.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d) idx[d] = shape[d] == 1 ? 0 : out_idx[d + lead];
  return idx;
}

}  // namespace rotor::testing_util
