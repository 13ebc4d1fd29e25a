#pragma once
// Fully connected layer y = x W^T + b with PyTorch's weight layout, over raw buffers.
// float goes through oneDNN (kernels/matmul.h); double is a plain loop used by gradient checks;
// the bf16 forms take bf16 copies of activations and weights and accumulate in f32: through rotor's own
// kernel (kernels/pair_gemm.h) where the CPU and the sizes allow and oneDNN has no AMX, otherwise oneDNN.
// Backward kernels ADD into dinp, dweight and dbias.
#include <cstdint>

#include "rotor/core/dtype.h"

namespace rotor::kernels {

// out: [N, OUT]; inp: [N, IN]; weight: [OUT, IN]; bias: [OUT] or null.
template <class T>
void linear_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t N, int64_t IN, int64_t OUT);
// dinp: [N, IN] (+=, may be null); dweight: [OUT, IN] (+=); dbias: [OUT] (+=, may be null); dout: [N, OUT].
// With overwrite_dinp the input gradient is written (=) instead of added, saving the caller a memset.
template <class T>
void linear_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, int64_t N,
                     int64_t IN, int64_t OUT, bool overwrite_dinp = false);

// bf16 matmuls, f32 results. out: [N, OUT] f32; inp: [N, IN] bf16; weight: [OUT, IN] bf16; bias f32 or null.
void linear_forward_bf16(float* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t IN,
                         int64_t OUT);
// dout_f32 is used for the bias gradient, dout_bf16 (the same values rounded) for the matmuls.
void linear_backward_bf16(float* dinp, float* dweight, float* dbias, const float* dout_f32, const bf16* dout_bf16,
                          const bf16* inp, const bf16* weight, int64_t N, int64_t IN, int64_t OUT,
                          bool overwrite_dinp = false);

// The same from dout16 already prepared by prepare_output_grad_bf16 (kernels/bf16_convert.h), which also
// did the bias gradient. With dinp16 (dinp null) the input gradient is written (=) in bf16 instead; with
// overwrite_dweight the weight gradient is written (=) instead of added (dweight need not be initialised).
void linear_backward_bf16_prepared(float* dinp, float* dweight, const bf16* dout16, const bf16* inp,
                                   const bf16* weight, int64_t N, int64_t IN, int64_t OUT, bool overwrite_dinp = false,
                                   bf16* dinp16 = nullptr, bool overwrite_dweight = false);
// bf16 matmul with a bf16 output (f32 accumulation, one rounding): out: [N, OUT] bf16.
void linear_forward_bf16_out(bf16* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t IN,
                             int64_t OUT);

// sums[j] += sum over rows of x[row, j]; x: [N, C]. Deterministic for any thread count.
template <class T> void add_column_sums(T* sums, const T* x, int64_t N, int64_t C);

}  // namespace rotor::kernels
