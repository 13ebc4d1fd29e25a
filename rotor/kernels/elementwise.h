#pragma once
// Elementwise kernels over strided views with NumPy broadcasting.
//
// Types: arithmetic runs in f64 when any floating input is f64, otherwise in f32; bf16, f16 and integer
// inputs are converted to that type first. Results are new tensors of the broadcast shape (the `_into`
// forms write into an existing view instead): contiguous, except that when every input has the result's
// shape and one dense but permuted layout (transposed operands), the result takes that layout, as in
// PyTorch, so that the loop walks memory in order; `copy` always returns a contiguous tensor. Callers that
// need raw row-major buffers call contiguous(). Dense operands take a unit-stride loop;
// large tensors are split across OpenMP threads (each element is computed by exactly one thread, so
// results do not depend on the thread count).
#include "rotor/core/tensor.h"

namespace rotor::kernels {

enum class UnaryOp {
  neg, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, gelu_erf, gelu_tanh, silu, abs, square, reciprocal, sin, cos,
  sign,
};
enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum };
enum class CompareOp { eq, ne, lt, le, gt, ge };

const char* unary_op_name(UnaryOp op);

// The floating type arithmetic on these inputs runs in (f64 if any is f64, else f32).
DType compute_dtype(const Tensor& a);
DType compute_dtype(const Tensor& a, const Tensor& b);

// y = op(x)
Tensor unary(UnaryOp op, const Tensor& x);
// dx = dy * op'(x), the backward of `unary` (x is the forward input; dy has x's shape or broadcasts to it).
// Defined for every op except sign (whose derivative is zero almost everywhere; returns zeros).
Tensor unary_backward(UnaryOp op, const Tensor& x, const Tensor& dy);

// c = a op b, broadcast.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
// out = a op b written into `out` (a floating view of the broadcast shape; may alias a or b exactly).
void binary_into(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);

inline Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
inline Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
inline Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
inline Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }
inline Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::maximum, a, b); }
inline Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::minimum, a, b); }
inline Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, x); }
inline Tensor log(const Tensor& x) { return unary(UnaryOp::log, x); }
// A new row-major copy of x. f32/f64 go through the strided (tiled) kernels, which is much faster than
// Tensor::clone for transposed views; other types fall back to clone.
Tensor copy(const Tensor& x);
// dst += src (src broadcasts to dst's shape); dst must be a floating tensor.
void add_(Tensor& dst, const Tensor& src);

// Scalar forms: y = x + s, y = x * s, y = x^p, y = a*x + b, y = clamp(x, lo, hi).
Tensor add_scalar(const Tensor& x, double s);
Tensor mul_scalar(const Tensor& x, double s);
Tensor pow_scalar(const Tensor& x, double p);
Tensor affine(const Tensor& x, double a, double b);
Tensor clamp(const Tensor& x, double lo, double hi);
// dx = dy where lo <= x <= hi, else 0.
Tensor clamp_backward(const Tensor& x, double lo, double hi, const Tensor& dy);
// Binary cross-entropy on logits x with targets t (broadcast), per element, in its stable form
// max(x, 0) - x t + log1p(exp(-|x|)); its gradients are dx = dy (sigmoid(x) - t) and dt = -dy x.
Tensor bce_with_logits(const Tensor& x, const Tensor& t);
// y = x where x > 0, else slope x (LeakyReLU); its backward dx = dy where x > 0, else slope dy.
Tensor leaky_relu(const Tensor& x, double slope);
Tensor leaky_relu_backward(const Tensor& x, double slope, const Tensor& dy);

// Comparisons give u8 tensors of 0/1 (broadcast).
Tensor compare(CompareOp op, const Tensor& a, const Tensor& b);
// where(cond, a, b): a where cond != 0 else b (all three broadcast; cond of any dtype).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

}  // namespace rotor::kernels
