#pragma once
// Shape and layout ops on Vars. Forward results are views sharing storage with the input where the
// Tensor allows it (see rotor/core/tensor.h); backward maps the gradient back to the input's layout.
// cat and stack copy.
#include <vector>

#include "rotor/autograd/var.h"

namespace rotor::autograd {

Var reshape(const Var& x, const Shape& shape);  // one -1 allowed
Var flatten(const Var& x, int64_t start_dim = 0, int64_t end_dim = -1);
Var transpose(const Var& x, int64_t d0, int64_t d1);
Var permute(const Var& x, const std::vector<int64_t>& order);
Var slice(const Var& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);  // Python semantics
Var narrow(const Var& x, int64_t dim, int64_t start, int64_t length);
Var select(const Var& x, int64_t dim, int64_t index);  // removes `dim`
Var expand(const Var& x, const Shape& shape);          // broadcast size-1 / new leading dims
Var unsqueeze(const Var& x, int64_t dim);
Var squeeze(const Var& x, int64_t dim);
Var contiguous(const Var& x);
// Concatenate along an existing dim; every input has the same shape except in `dim`.
Var cat(const std::vector<Var>& xs, int64_t dim);
// Stack equally shaped inputs along a new dim.
Var stack(const std::vector<Var>& xs, int64_t dim);
// Split into pieces of `size` along dim (the last may be shorter), each a view.
std::vector<Var> split(const Var& x, int64_t size, int64_t dim);
std::vector<Var> chunk(const Var& x, int64_t chunks, int64_t dim);

}  // namespace rotor::autograd
