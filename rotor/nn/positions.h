#pragma once
// Absolute position encodings (RoPE lives with attention).
#include "rotor/nn/module.h"
#include "rotor/core/rng.h"

namespace rotor::nn {

// Sinusoidal encoding of "Attention Is All You Need": [T, dim] with
//   pe[p, 2i] = sin(p / base^(2i/dim)),  pe[p, 2i+1] = cos(p / base^(2i/dim)).
// dim must be even. Computed in double, returned in `dtype`. Not a parameter (no gradient).
Tensor sinusoidal_positions(int64_t length, int64_t dim, double base = 10000.0, DType dtype = DType::f32);

// Learned absolute positions: weight [max_length, dim] ~ N(0, init_std^2).
class LearnedPositions : public Module {
 public:
  LearnedPositions(int64_t max_length, int64_t dim, Rng& rng, double init_std = 0.02, DType dtype = DType::f32);
  // Positions [offset, offset + length) -> [length, dim] (add to [B, T, dim] by broadcasting).
  Var forward(int64_t length, int64_t offset = 0) const;
  int64_t max_length() const { return weight_.size(0); }

 private:
  Var weight_;
};

}  // namespace rotor::nn
