#pragma once
// Softmax and log-softmax over one axis of any tensor, with their backward passes.
// Inputs may be strided views; outputs are new contiguous tensors of the input shape (f64 for f64
// input, f32 otherwise). Rows are independent and split across threads when large.
#include "rotor/core/tensor.h"

namespace rotor::kernels {

// y = exp(x - max) / sum(exp(x - max)) along `axis`.
Tensor softmax(const Tensor& x, int64_t axis);
// y = x - logsumexp(x) along `axis`.
Tensor log_softmax(const Tensor& x, int64_t axis);
// Given y = softmax(x) and dy: dx = y * (dy - sum(dy * y)) along `axis`.
Tensor softmax_backward(const Tensor& y, const Tensor& dy, int64_t axis);
// Given y = log_softmax(x) and dy: dx = dy - exp(y) * sum(dy) along `axis`.
Tensor log_softmax_backward(const Tensor& y, const Tensor& dy, int64_t axis);

}  // namespace rotor::kernels
