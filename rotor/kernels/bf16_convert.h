#pragma once
// Bulk float <-> bfloat16 conversion (round to nearest even), AVX512-BF16 where available.
#include <cstdint>

#include "rotor/core/dtype.h"

namespace rotor::kernels {

void float_to_bf16_buffer(bf16* dst, const float* src, int64_t n);  // dst: [n], src: [n]
void bf16_to_float_buffer(float* dst, const bf16* src, int64_t n);

}  // namespace rotor::kernels

namespace rotor::kernels {

// The bf16 operand of a linear layer's backward pass from its f32 output gradient g = dout (times
// `factor` elementwise when factor is not null: an activation's saved derivative), in one pass:
//   dout16 [N, C] = bf16(g), may be null;  dbias [C] += column sums of g (f32, the same for any
// thread count), may be null.  dout, factor: [N, C].
void prepare_output_grad_bf16(bf16* dout16, float* dbias, const float* dout, const float* factor, int64_t N,
                              int64_t C);
// One row of the same: dst [n] = bf16(row), sums [n] += row when not null.
void store_row_bf16(bf16* dst, const float* row, int64_t n, float* sums);

}  // namespace rotor::kernels
