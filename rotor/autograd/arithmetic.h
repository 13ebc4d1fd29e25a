#pragma once
// Elementwise arithmetic and activations on Vars, with NumPy broadcasting.
// Binary ops broadcast their operands; the backward sums the gradient back down to each input's shape.
// A result is f64 when an input is f64, else f32.
#include "rotor/autograd/var.h"

namespace rotor::autograd {

Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var pow(const Var& a, const Var& b);  // a^b; d/db needs a > 0
Var maximum(const Var& a, const Var& b);  // gradient goes to the larger input (to a on ties)
Var minimum(const Var& a, const Var& b);

// Scalar forms.
Var add(const Var& a, double s);
Var mul(const Var& a, double s);
Var pow(const Var& a, double p);
Var rsub(double s, const Var& a);  // s - a
Var rdiv(double s, const Var& a);  // s / a

Var neg(const Var& x);
Var exp(const Var& x);
Var log(const Var& x);
Var sqrt(const Var& x);
Var rsqrt(const Var& x);
Var square(const Var& x);
Var abs(const Var& x);
Var sin(const Var& x);
Var cos(const Var& x);
Var tanh(const Var& x);
Var sigmoid(const Var& x);
Var relu(const Var& x);
// GELU: x * Phi(x) with the exact erf form, or the tanh approximation (GPT-2's "gelu_new").
enum class GeluForm { erf, tanh };
Var gelu(const Var& x, GeluForm form = GeluForm::erf);
Var silu(const Var& x);  // x * sigmoid(x), a.k.a. swish
// Gated activation of a fused projection x [..., 2H] laid out as [gate | up]: act(gate) * up, [..., H].
// SwiGLU with GatedForm::silu, GeGLU with GatedForm::gelu (erf form). The transformer's kernels.
enum class GatedForm { silu, gelu };
Var gated_activation(const Var& x, GatedForm form);
Var leaky_relu(const Var& x, double negative_slope = 0.01);  // x > 0 ? x : slope * x
Var softplus(const Var& x);  // log(1 + exp(x)), computed as max(x, 0) + log(1 + exp(-|x|))
Var clamp(const Var& x, double lo, double hi);  // gradient passes where lo <= x <= hi

// Selection by a mask (any dtype; nonzero = true), all broadcast: a where cond else b.
Var where(const Tensor& cond, const Var& a, const Var& b);
// x with `value` where mask is nonzero (mask broadcasts to x); no gradient flows to filled places.
Var masked_fill(const Var& x, const Tensor& mask, double value);

inline Var operator+(const Var& a, const Var& b) { return add(a, b); }
inline Var operator-(const Var& a, const Var& b) { return sub(a, b); }
inline Var operator*(const Var& a, const Var& b) { return mul(a, b); }
inline Var operator/(const Var& a, const Var& b) { return div(a, b); }
inline Var operator-(const Var& a) { return neg(a); }
inline Var operator+(const Var& a, double s) { return add(a, s); }
inline Var operator+(double s, const Var& a) { return add(a, s); }
inline Var operator-(const Var& a, double s) { return add(a, -s); }
inline Var operator-(double s, const Var& a) { return rsub(s, a); }
inline Var operator*(const Var& a, double s) { return mul(a, s); }
inline Var operator*(double s, const Var& a) { return mul(a, s); }
inline Var operator/(const Var& a, double s) { return mul(a, 1.0 / s); }
inline Var operator/(double s, const Var& a) { return rdiv(s, a); }

}  // namespace rotor::autograd
