#pragma once
// Matrix products on Vars. f32 (and bf16 values) go through oneDNN (kernels::matmul); f64 through the
// reference loop (kernels::matmul_f64), which is what gradient checks use.
#include "rotor/autograd/var.h"

namespace rotor::autograd {

// numpy.matmul semantics: a [..., M, K] x b [..., K, N] -> [..., M, N], batch dims broadcast;
// a 1-D operand is promoted to a matrix and the added dim removed from the result.
// When b is 2-D and a has more dims, a is folded to [rows, K] so the weight gradient is one GEMM.
Var matmul(const Var& a, const Var& b);
// Strict batched product: a [B, M, K] x b [B, K, N] -> [B, M, N].
Var bmm(const Var& a, const Var& b);
// y = x W^T + bias.  x: [..., in], weight: [out, in], bias: [out] or undefined -> y: [..., out].
Var linear(const Var& x, const Var& weight, const Var& bias = Var());

}  // namespace rotor::autograd
