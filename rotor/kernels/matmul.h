#pragma once
// Matrix multiplication through oneDNN's matmul primitive (f32, and bf16 inputs with f32
// accumulation and output, which runs on AVX512-BF16 or AMX where the CPU has them).
// Primitives are created once per (shape, layout, dtype, accumulate) and cached.
#include <cstdint>

#include "rotor/core/dtype.h"
#include "rotor/core/tensor.h"

namespace rotor::kernels {

// Describes one row-major operand: element (i, j) of batch b is at base[b*batch_stride + i*row_stride + j*col_stride].
// A transposed matrix is the same memory with row_stride and col_stride swapped.
struct MatrixLayout {
  int64_t row_stride;
  int64_t col_stride;
  int64_t batch_stride = 0;
};

inline MatrixLayout row_major(int64_t rows, int64_t cols) { return {cols, 1, rows * cols}; }
inline MatrixLayout transposed(int64_t rows, int64_t cols) {  // op(X) = X^T where X is [cols, rows] row-major
  return {1, rows, rows * cols};
}

// C[b] = A[b] · B[b] (+ bias) (+ C[b] when accumulate), for b in [0, batch).
// A: [batch, M, K] in dtype `in_dtype` (f32 or bf16); B: [batch, K, N] same dtype; C: [batch, M, N] f32;
// bias: [N] f32 added to every row (fused into the GEMM), or null.
// A batch_stride of 0 broadcasts that operand across the batch.
void gemm(int64_t batch, int64_t M, int64_t N, int64_t K, DType in_dtype, const void* A, MatrixLayout a,
          const void* B, MatrixLayout b, float* C, MatrixLayout c, bool accumulate = false,
          const float* bias = nullptr);

// The same with bf16 inputs and a bf16 output: accumulation in f32, the result (plus bias) rounded to
// nearest even once, as float_to_bf16 would round the f32 result.
void gemm_to_bf16(int64_t batch, int64_t M, int64_t N, int64_t K, const bf16* A, MatrixLayout a, const bf16* B,
                  MatrixLayout b, bf16* C, MatrixLayout c, const float* bias = nullptr);

// Convenience for f32 row-major matrices with optional transposes:
// C[M,N] (+)= op(A) · op(B), A is [M,K] (or [K,M] when trans_a), B is [K,N] (or [N,K] when trans_b).
void gemm_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, const float* B,
              float* C, bool accumulate = false);
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const bf16* A, const bf16* B,
               float* C, bool accumulate = false);

// Tensor matmul with NumPy semantics: [..., M, K] x [..., K, N] -> [..., M, N], batch dims broadcast,
// 1-D operands promoted as in numpy.matmul. Inputs may be strided views (the innermost two dims need a
// unit stride in one of them, otherwise they are copied). f32 x f32 -> f32; bf16 x bf16 -> f32.
Tensor matmul(const Tensor& a, const Tensor& b);

// Number of primitives currently cached (for tests).
int64_t matmul_cache_size();

// Whether oneDNN runs bf16 matmuls on AMX tiles here (its effective ISA, which the CPU and
// ONEDNN_MAX_CPU_ISA decide). Where it does, the bf16 linear layers take oneDNN instead of rotor's own
// AVX512-BF16 kernels (kernels/linear.cpp): AMX multiplies several times faster than vdpbf16ps.
bool onednn_uses_amx();
// oneDNN's effective ISA by name ("avx512_core_bf16", "avx512_core_amx", ...), for `rotor info`.
const char* onednn_isa_name();
// Whether the CPU reports AMX-BF16 (CPUID leaf 7: what oneDNN's AMX path needs, before the OS grants it).
bool cpu_has_amx_bf16();

}  // namespace rotor::kernels
