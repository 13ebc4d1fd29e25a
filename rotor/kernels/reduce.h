#pragma once
// Reductions over any set of axes of a strided view.
//
// `axes` lists dimensions (negative counts from the end); an empty list means all dimensions.
// With keepdim the reduced dimensions stay as size 1, otherwise they are removed.
// Floating results are f64 for f64 input and f32 otherwise (bf16/f16/integer inputs are read as f32);
// sums accumulate in double. Work is split across threads by output element, or for a reduction to a
// few outputs by fixed-size blocks combined in order, so results do not depend on the thread count.
#include <vector>

#include "rotor/core/tensor.h"

namespace rotor::kernels {

using Axes = std::vector<int64_t>;

Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
// log(sum(exp(x))) computed stably (max subtracted); -inf for all -inf inputs.
Tensor logsumexp(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
// Variance with `correction` subtracted from the count (1 = unbiased, 0 = population).
Tensor var(const Tensor& x, const Axes& axes = {}, int64_t correction = 1, bool keepdim = false);
// Index (i64) of the first largest / smallest element along one axis.
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t axis, bool keepdim = false);

// Sum x down to `shape`, the inverse of broadcasting `shape` to x's shape (used by backward passes).
Tensor sum_to_shape(const Tensor& x, const Shape& shape);

// Normalised, sorted, unique axes of a tensor with `ndim` dimensions (all when `axes` is empty).
Axes normalize_axes(const Axes& axes, int64_t ndim, const char* what);
// The shape after reducing `axes` (already normalised).
Shape reduced_shape(const Shape& shape, const Axes& axes, bool keepdim);

}  // namespace rotor::kernels
