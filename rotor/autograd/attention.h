#pragma once
// Attention composed from autograd ops (matmul, masked_fill, softmax): the reference path that any
// model can use and that fused kernels are checked against.
#include "rotor/autograd/var.h"

namespace rotor::autograd {

struct AttentionOptions {
  bool causal = false;  // query i attends to keys j <= i + (Tk - Tq) (aligned at the end, as with a KV cache)
  double scale = 0;     // 0 means 1 / sqrt(D)
  Tensor mask;          // optional, broadcast to [..., Tq, Tk]: nonzero = masked out
};

// q: [..., Tq, D], k: [..., Tk, D], v: [..., Tk, Dv] -> [..., Tq, Dv]
// out = softmax(q k^T * scale + masks) v. Batch dims broadcast (e.g. [B, H, T, D] with shared k/v
// heads expanded by the caller for grouped-query attention). Fully masked rows give NaN, as in PyTorch.
Var scaled_dot_product_attention(const Var& q, const Var& k, const Var& v, const AttentionOptions& options = {});

// The [Tq, Tk] u8 mask of positions a causal query may not see (1 = masked).
Tensor causal_mask(int64_t tq, int64_t tk);

}  // namespace rotor::autograd
