#pragma once
// Matrix-vector products for one-token decoding, where every weight is read once per token and the speed
// is the memory bandwidth: out = W x with PyTorch's [OUT, IN] weight layout, f32 accumulation. The bf16
// form halves the bytes read (AVX512-BF16 vdpbf16ps on pairs of bf16 products). Rows are split across
// threads above a size threshold; each output is one thread's sum in a fixed order, so results do not
// depend on the thread count.
#include <cstdint>

#include "rotor/core/dtype.h"

namespace rotor::kernels {

// out: [OUT]; x: [IN]; weight: [OUT, IN] (row-major, rows contiguous).
void gemv_f32(float* out, const float* x, const float* weight, int64_t IN, int64_t OUT);
// out: [OUT] f32; x16: [IN] bf16; weight16: [OUT, IN] bf16.
void gemv_bf16(float* out, const bf16* x16, const bf16* weight16, int64_t IN, int64_t OUT);

}  // namespace rotor::kernels
