#pragma once
// Gradients through discrete choices: the straight-through estimator and the Gumbel-softmax
// (Jang, Gu & Poole 2017; Maddison, Mnih & Teh 2017).
//
//   Var y = gumbel_softmax(logits, gumbel_noise(logits.shape(), rng), tau, /*hard=*/false);
//   // y = softmax((logits + g) / tau) over the last axis, g_i = -log(-log u_i), u_i ~ U(0, 1)
//   Var h = gumbel_softmax(logits, g, tau, /*hard=*/true);
//   // forward: one_hot(argmax(logits + g)); backward: the gradient of the soft y (straight through)
//   Var zq = straight_through(codebook_rows, z_e);  // VQ-VAE: the value of zq, the gradient to z_e
#include "rotor/autograd/var.h"
#include "rotor/core/rng.h"

namespace rotor::autograd {

// The value of `forward`, with the output's gradient passed unchanged to `surrogate` (same shape) and
// none to `forward`: forward.detach() + surrogate - surrogate.detach() in one op. The gradient is exact
// only where forward and surrogate agree as functions; elsewhere it is the (biased) straight-through
// estimate, by design.
Var straight_through(const Var& forward, const Var& surrogate);

// Standard Gumbel noise of the given shape (f32, or f64), from `rng` in row-major order.
Tensor gumbel_noise(const Shape& shape, Rng& rng, DType dtype = DType::f32);

// Relaxed one-hot samples over the last axis of logits [..., K] with temperature tau > 0; `noise` has
// logits' shape (gumbel_noise, or zeros for the noiseless softmax(logits / tau)).
Var gumbel_softmax(const Var& logits, const Tensor& noise, double tau, bool hard);

// one_hot(argmax(x, last axis)) as a tensor of x's shape and dtype (ties: the first maximum).
Tensor one_hot_argmax(const Tensor& x);

}  // namespace rotor::autograd
