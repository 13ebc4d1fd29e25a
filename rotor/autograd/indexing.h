#pragma once
// Indexing ops on Vars. Index tensors are integer Tensors (i64 or i32) and carry no gradient;
// out-of-range indices throw naming the index and the valid range.
#include "rotor/autograd/var.h"

namespace rotor::autograd {

// weight: [V, D], ids: [...] -> [..., D]. The backward adds each output row's gradient into the row of
// its id (rows are accumulated in index order, so repeated ids are deterministic).
Var embedding(const Var& weight, const Tensor& ids);
// Pick the entries `index` (1-D) along `dim`: the result has size index.numel() in dim.
Var index_select(const Var& x, int64_t dim, const Tensor& index);
// out[i][j][k] = x[i][index[i][j][k]][k] (for dim = 1), index of the same rank as x with sizes no larger
// than x's outside `dim`; the result has index's shape.
Var gather(const Var& x, int64_t dim, const Tensor& index);

}  // namespace rotor::autograd
