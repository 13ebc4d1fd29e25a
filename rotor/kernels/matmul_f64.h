#pragma once
// Double-precision matrix multiply with numpy.matmul semantics (batch dims broadcast, 1-D operands
// promoted). A plain triple loop: it serves gradient checks and references, not speed.
#include "rotor/core/tensor.h"

namespace rotor::kernels {

// a: [..., M, K] f64, b: [..., K, N] f64 -> [..., M, N] f64.
Tensor matmul_f64(const Tensor& a, const Tensor& b);

}  // namespace rotor::kernels
