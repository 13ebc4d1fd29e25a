#pragma once
// bf16 GEMMs on AVX512-BF16 (vdpbf16ps: f32 accumulation of products of bf16 pairs) with one
// register-blocked kernel: the linear layers' three products in bf16 training, and the building blocks
// of the fused attention (kernels/attention_fused.cpp). On this Zen 5 machine they run 5-10% faster than
// oneDNN 2.6's brgemm on the transformer's shapes (README).
//
// vdpbf16ps multiplies 32-bit words holding two bf16 values of consecutive k (the reduction index).
// A left operand is read as words a[i * a_row + k2 * a_k] (pair k2 of row i); a right operand is
// packed in panels of 32 columns: word (k2, n) of panel p at b[(p * K2 + k2) * 32 + n % 32].
#include <cstdint>
#include <type_traits>

#include "rotor/core/dtype.h"

#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

namespace rotor::kernels {

// The three products of a linear layer (weight [OUT, IN], all operands bf16 row-major, f32 accumulation).
// The weight is repacked into pair panels on every call (it changes every step; the cost is small next to
// the product); activations are read in place, except that the weight gradient, whose reduction runs over
// the N rows, repacks both of its operands.
//
// Forward and input gradient, for N % 8 == 0 and IN, OUT multiples of 32 (linear_pairs_supported):
//   out [N, OUT] = inp . weight^T (+ bias [OUT] when not null), as f32 or rounded once to bf16;
//   dinp [N, IN] = dout . weight, as f32 (= or, with accumulate, +=) or rounded once to bf16.
bool linear_pairs_supported(int64_t N, int64_t IN, int64_t OUT);
template <class Out>
void linear_forward_pairs(Out* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t IN,
                          int64_t OUT);
template <class Out>
void linear_input_grad_pairs(Out* dinp, const bf16* dout, const bf16* weight, int64_t N, int64_t IN, int64_t OUT,
                             bool accumulate);
// Weight gradient dweight [OUT, IN] += dout^T . inp (= with accumulate false: dweight need not be
// initialised), for even N and IN, OUT multiples of 32 (weight_gradient_bf16_supported).
bool weight_gradient_bf16_supported(int64_t N, int64_t IN, int64_t OUT);
void weight_gradient_bf16(float* dweight, const bf16* dout, const bf16* inp, int64_t N, int64_t IN, int64_t OUT,
                          bool accumulate = true);
// Without AVX512-BF16 in the build the *_supported functions return false and the others throw.

#if defined(__AVX512BF16__)
namespace pairs {

// Right operand whose pairs are contiguous in memory: element (k, n) at src[n * ld + k]. K2 is a
// multiple of 16, N of 32: 16 x 16 word tiles are transposed in registers.
void pack_k_contiguous(uint32_t* b, const bf16* src, int64_t ld, int64_t K2, int64_t N);

// Words (k2, n) = (src[2 k2 ld + n], src[(2 k2 + 1) ld + n]) for n in [0, N), written at
// dst[k2 * dld + n]: rows 2 k2 and 2 k2 + 1 interleaved. N is a multiple of 32.
void interleave_row_pairs(uint32_t* dst, int64_t dld, const bf16* src, int64_t ld, int64_t K2, int64_t N);

// Right operand with rows of n contiguous: element (k, n) at src[k * ld + n], packed into panels.
void pack_n_contiguous(uint32_t* b, const bf16* src, int64_t ld, int64_t K2, int64_t N);

constexpr int64_t kRows = 8;  // rows of C per register block (8 x 32 accumulators in 16 registers)

struct Left {
  const uint32_t* a;
  int64_t row, k;  // word strides
};

// C[8, 32] (=, or += with accumulate) = A[8, pairs k0..k1) . B panel; the bf16 form writes the result
// rounded to nearest even.
void block_8x32(const Left& A, int64_t i0, const uint32_t* panel, int64_t k0, int64_t k1, float* c, int64_t ldc,
                bool accumulate);
void block_8x32(const Left& A, int64_t i0, const uint32_t* panel, int64_t k0, int64_t k1, bf16* c, int64_t ldc);

struct BlockRange {
  int64_t n_end;   // columns [0, n_end) (a multiple of 32)
  int64_t k0, k1;  // pairs [k0, k1)
};

// C[M, N] (=, or += for float with accumulate) = A . B, rows in blocks of 8; range(i0) restricts the block
// starting at row i0 (causal structure). M is a multiple of 8, N of 32. Out: float or bf16.
template <class Out, class Range>
void pair_gemm(int64_t M, const Left& A, const uint32_t* b, int64_t K2, Out* c, int64_t ldc, bool accumulate,
               Range&& range) {
  for (int64_t i0 = 0; i0 < M; i0 += kRows) {
    const BlockRange r = range(i0);
    for (int64_t p = 0; p < r.n_end / 32; ++p) {
      Out* at = c + i0 * ldc + 32 * p;
      if constexpr (std::is_same_v<Out, bf16>) block_8x32(A, i0, b + p * K2 * 32, r.k0, r.k1, at, ldc);
      else block_8x32(A, i0, b + p * K2 * 32, r.k0, r.k1, at, ldc, accumulate);
    }
  }
}

}  // namespace pairs
#endif

}  // namespace rotor::kernels
