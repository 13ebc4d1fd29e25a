#pragma once
// Causal attention for bf16 training, fused per (batch row, key/value head) on AVX512-BF16: the score,
// probability-times-value and all backward products run through the register-blocked bf16 kernel of
// kernels/pair_gemm.h (vdpbf16ps, f32 accumulation), with the [T, T] scores and probabilities of one head
// kept in per-thread buffers, and key blocks in the future of a query block skipped. As in FlashAttention,
// the probabilities are not written for the backward pass: it recomputes them (bit for bit) from the
// scores and two saved numbers per row, O(T) per head instead of O(T^2). attention.cpp uses it for the
// bf16 path when fused_bf16_attention_supports(d); other shapes and CPUs take the oneDNN path. Layouts
// are those of kernels/attention.h.
#include <cstdint>
#include <functional>

#include "rotor/core/dtype.h"
#include "rotor/kernels/attention.h"

namespace rotor::kernels {

// True when this build has AVX512-BF16 and T and Dh are multiples of 32.
bool fused_bf16_attention_supports(const AttentionDims& d);

// qkv16: [B, T, (H + 2 KV) Dh] bf16, q and k already rotated. out: [B, T, H Dh] f32, or out16 in bf16
// (exactly one of them; written). stats: [B, H, T, 2] (written): per query row the scaled score maximum
// and 1 / (sum of exponentials).
void fused_attention_forward_bf16(float* out, bf16* out16, float* stats, const bf16* qkv16, const AttentionDims& d);

// Receives one head's finished gradient: block [T, Dh] (row stride Dh) for batch row b, belonging at
// column col of dqkv. Called once per (b, col), possibly from several threads at once.
using HeadGradSink = std::function<void(int64_t b, int64_t col, const float* block)>;

// dqkv: [B, T, (H + 2 KV) Dh] f32 (written, =); dout16: [B, T, H Dh] bf16; stats and qkv16 as the
// forward pass left them. With a sink, the gradients go to it instead and dqkv is not touched.
void fused_attention_backward_bf16(float* dqkv, const bf16* dout16, const float* stats, const bf16* qkv16,
                                   const AttentionDims& d, const HeadGradSink* sink = nullptr);

// The same fused attention in f32 (AVX-512 FMAs), for T and Dh multiples of 32: out [B, T, H Dh] and
// stats [B, H, T, 2] written as above; the backward writes dqkv (=) from dout [B, T, H Dh] f32.
bool fused_f32_attention_supports(const AttentionDims& d);
void fused_attention_forward_f32(float* out, float* stats, const float* qkv, const AttentionDims& d);
void fused_attention_backward_f32(float* dqkv, const float* dout, const float* stats, const float* qkv,
                                  const AttentionDims& d);

// Softmax backward of one row whose probabilities are bf16: dp16 = p * (dp - <dp, p>) * scale over
// [0, valid), zero from valid to end. dp: f32 gradient of the probabilities.
void softmax_backward_row_bf16(const float* dp, const bf16* p, int64_t valid, int64_t end, float scale, bf16* dp16);

}  // namespace rotor::kernels
