#pragma once
// LayerNorm and RMSNorm over the last dimension, forward and backward over raw buffers.
// Instantiated for float and double (double is used by the gradient checks).
// Convention for every backward kernel in rotor/kernels: gradients are ADDED (+=) into the
// gradient buffers (inputs and parameters), so callers zero them once and residual paths sum freely.
#include <cstdint>

#include "rotor/core/dtype.h"

namespace rotor::kernels {

// out: [N, C]; mean, rstd: [N] (saved for backward); inp: [N, C]; weight, bias: [C] (bias may be null).
// out = (inp - mean) * rstd * weight + bias, rstd = 1 / sqrt(var + eps) with the biased variance.
// With residual ([N, C]) the normalized input is inp + residual, also written to sum_out ([N, C]): a
// residual connection fused into the norm that follows it (every forward below takes the pair).
template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias, int64_t N, int64_t C,
                       double eps, const T* residual = nullptr, T* sum_out = nullptr);
// dinp: [N, C] (+=); dweight, dbias: [C] (+=; dbias may be null); dout, inp: [N, C].
template <class T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, const T* mean,
                        const T* rstd, int64_t N, int64_t C);

// RMSNorm: out = inp * rstd * weight, rstd = 1 / sqrt(mean(inp^2) + eps). rstd: [N].
template <class T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int64_t N, int64_t C, double eps,
                     const T* residual = nullptr, T* sum_out = nullptr);
template <class T>
void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight, const T* rstd, int64_t N,
                      int64_t C);

// For the bf16 backwards below: once a row of dinp is final (after this backward's addition), also write it
// as the prepared output gradient of the linear layer whose output fed the residual stream, as
// prepare_output_grad_bf16 (kernels/bf16_convert.h) would: dout16 [N, C] = bf16(dinp), dbias [C] += its
// column sums (when not null; the same for any thread count).
struct PreparedGradient {
  bf16* dout16;
  float* dbias;
};
// The same backwards reading a bf16 output gradient (what a bf16 matmul's input gradient is written as).
void layernorm_backward_bf16(float* dinp, float* dweight, float* dbias, const bf16* dout, const float* inp,
                             const float* weight, const float* mean, const float* rstd, int64_t N, int64_t C,
                             const PreparedGradient* next = nullptr);
void rmsnorm_backward_bf16(float* dinp, float* dweight, const bf16* dout, const float* inp, const float* weight,
                           const float* rstd, int64_t N, int64_t C, const PreparedGradient* next = nullptr);
// The same forwards writing bf16 outputs (the inputs of bf16 matmuls) from f32 inputs.
void layernorm_forward_bf16(bf16* out, float* mean, float* rstd, const float* inp, const float* weight,
                            const float* bias, int64_t N, int64_t C, double eps, const float* residual = nullptr,
                            float* sum_out = nullptr);
void rmsnorm_forward_bf16(bf16* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C,
                          double eps, const float* residual = nullptr, float* sum_out = nullptr);

}  // namespace rotor::kernels
