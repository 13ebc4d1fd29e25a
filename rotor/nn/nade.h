#pragma once
// The NADE layer as one autograd op (kernels in rotor/kernels/nade.h):
//   Var logits = nn::nade_logits(x, W, c, V, b, order);   // x [N, D], W and V [D, H], c [H], b [D] -> [N, D]
// logits[:, order[t]] are the Bernoulli logits of input order[t] given the inputs order[0..t-1]; the op is
// differentiable in all five inputs (x too, so the gradient checks cover the whole function).
#include <cstdint>
#include <vector>

#include "rotor/autograd/var.h"

namespace rotor::nn {

autograd::Var nade_logits(const autograd::Var& x, const autograd::Var& W, const autograd::Var& c,
                          const autograd::Var& V, const autograd::Var& b, const std::vector<int64_t>& order);

// order must be a permutation of 0..D-1 (else a rotor::Error naming `what`).
void check_permutation(const std::vector<int64_t>& order, int64_t D, const char* what);

}  // namespace rotor::nn
