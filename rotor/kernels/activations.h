#pragma once
// Pointwise activations and gated MLP activations, forward and backward over raw buffers.
// Instantiated for float (AVX-512 where available) and double (std:: math, for gradient checks).
// Backward kernels ADD into dinp (see layernorm.h for the convention).
#include <cstdint>
#include <string>

#include "rotor/core/dtype.h"

namespace rotor::kernels {

enum class Activation {
  relu,
  gelu_erf,   // 0.5 x (1 + erf(x / sqrt 2)), PyTorch's default GELU
  gelu_tanh,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), GPT-2's GELU
  silu,       // x * sigmoid(x) (Swish)
};
Activation activation_from_name(const std::string& name);  // "relu", "gelu", "gelu_tanh", "silu"
const char* activation_name(Activation a);

// out, inp: [n]
template <class T> void activation_forward(Activation act, T* out, const T* inp, int64_t n);
// dinp (+=), dout, inp: [n]
template <class T> void activation_backward(Activation act, T* dinp, const T* dout, const T* inp, int64_t n);

// Gated linear units (GLU family): inp: [N, 2H] holds [gate | up] per row; out: [N, H] = act(gate) * up.
// SwiGLU is act = silu, GeGLU is act = gelu.
template <class T> void gated_forward(Activation act, T* out, const T* inp, int64_t N, int64_t H);
// dinp: [N, 2H] (+=); dout: [N, H]; inp: [N, 2H].
template <class T> void gated_backward(Activation act, T* dinp, const T* dout, const T* inp, int64_t N, int64_t H);

// The same forwards writing bf16 (the inputs of bf16 matmuls), from f32 inputs.
void gated_forward_bf16(Activation act, bf16* out, const float* inp, int64_t N, int64_t H);

// Forward that also stores the derivative act'(inp), so that the backward is one multiply:
// out (f32) and/or out16 (bf16) may be null; grad: [n] f32.
void activation_forward_saving_grad(Activation act, float* out, bf16* out16, float* grad, const float* inp, int64_t n);
// bf16 training as under PyTorch's autocast: the up projection's output arrives in bf16; only the
// activation is written (the backward keeps the bf16 pre-activation) ...
void activation_forward_bf16(Activation act, bf16* out16, const bf16* inp16, int64_t n);
// ... and the backward recomputes act' from it in f32: dinp16 = bf16(dout16 * act'(inp16)) (WRITTEN), with
// dbias [C] += its column sums when not null (the same for any thread count). All [N, C].
void activation_backward_prepare_bf16(Activation act, bf16* dinp16, float* dbias, const bf16* dout16,
                                      const bf16* inp16, int64_t N, int64_t C);
// dinp = dout * grad, WRITTEN (not added); dinp may alias dout.
void activation_backward_from_grad(float* dinp, const float* dout, const float* grad, int64_t n);

}  // namespace rotor::kernels
