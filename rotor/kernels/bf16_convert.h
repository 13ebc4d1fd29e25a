#pragma once
// Bulk float <-> bfloat16 conversion (round to nearest even), AVX512-BF16 where available.
#include <cstdint>

#include "rotor/core/dtype.h"

namespace rotor::kernels {

void float_to_bf16_buffer(bf16* dst, const float* src, int64_t n);  // dst: [n], src: [n]
void bf16_to_float_buffer(float* dst, const bf16* src, int64_t n);

}  // namespace rotor::kernels
