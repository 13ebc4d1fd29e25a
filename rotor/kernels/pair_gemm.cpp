#include "rotor/kernels/pair_gemm.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "rotor/core/error.h"
#include "rotor/kernels/parallel_rows.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

#if defined(__AVX512BF16__)

namespace pairs {
namespace {

// vpermt2w indices interleaving two rows x, y of 32 bf16 into words (x[i], y[i]): i < 16, i >= 16.
alignas(64) constexpr uint16_t kPairLo[32] = {0,  32, 1,  33, 2,  34, 3,  35, 4,  36, 5,  37, 6,  38, 7,  39,
                                             8,  40, 9,  41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
alignas(64) constexpr uint16_t kPairHi[32] = {16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21, 53, 22, 54, 23, 55,
                                             24, 56, 25, 57, 26, 58, 27, 59, 28, 60, 29, 61, 30, 62, 31, 63};

}  // namespace

void pack_k_contiguous(uint32_t* b, const bf16* src, int64_t ld, int64_t K2, int64_t N) {
  // 16 columns at a time: their pairs (words along the rows of src) become rows of the panel
  const uint32_t* words = reinterpret_cast<const uint32_t*>(src);
  for (int64_t n0 = 0; n0 < N; n0 += 16)
    vec::transpose_block(b + (n0 / 32) * K2 * 32 + n0 % 32, 32, words + n0 * (ld / 2), ld / 2, 16, K2);
}

void interleave_row_pairs(uint32_t* dst, int64_t dld, const bf16* src, int64_t ld, int64_t K2, int64_t N) {
  const __m512i lo = _mm512_load_si512(kPairLo), hi = _mm512_load_si512(kPairHi);
  for (int64_t k2 = 0; k2 < K2; ++k2) {
    const bf16* r0 = src + 2 * k2 * ld;
    const bf16* r1 = r0 + ld;
    uint32_t* out = dst + k2 * dld;
    for (int64_t n = 0; n < N; n += 32) {
      const __m512i a = _mm512_loadu_si512(r0 + n), b = _mm512_loadu_si512(r1 + n);
      _mm512_storeu_si512(out + n, _mm512_permutex2var_epi16(a, lo, b));
      _mm512_storeu_si512(out + n + 16, _mm512_permutex2var_epi16(a, hi, b));
    }
  }
}

void pack_n_contiguous(uint32_t* b, const bf16* src, int64_t ld, int64_t K2, int64_t N) {
  for (int64_t p = 0; p < N / 32; ++p) interleave_row_pairs(b + p * K2 * 32, 32, src + 32 * p, ld, K2, 32);
}

// C[8, 32] = A[8, pairs k0..k1) . B panel, in registers; epi(acc) stores it (acc[i][h]: row i, columns
// 16 h .. 16 h + 15). One function per epilogue, so that the epilogue is inlined after the loop.
template <class Epi>
__attribute__((noinline)) void block_8x32_with(const Left& A, int64_t i0, const uint32_t* panel, int64_t k0,
                                               int64_t k1, const Epi& epi) {
  __m512 acc[kRows][2];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  const uint32_t* a = A.a + i0 * A.row;
  for (int64_t k2 = k0; k2 < k1; ++k2) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + k2 * 32);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + k2 * 32 + 16);
    const uint32_t* ak = a + k2 * A.k;
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(int(ak[i * A.row]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
    }
  }
  epi(acc);
}

// Epilogue: C (row stride ldc) = acc (+ bias[32] when not null), or += acc (+ bias) with accumulate.
struct StoreF32 {
  float* c;
  int64_t ldc;
  const float* bias;
  bool accumulate;
  __attribute__((always_inline)) void operator()(__m512 (&acc)[kRows][2]) const {
    const __m512 bias0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    const __m512 bias1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      float* ci = c + i * ldc;
      __m512 v0 = _mm512_add_ps(acc[i][0], bias0), v1 = _mm512_add_ps(acc[i][1], bias1);
      if (accumulate) {
        v0 = _mm512_add_ps(v0, _mm512_loadu_ps(ci));
        v1 = _mm512_add_ps(v1, _mm512_loadu_ps(ci + 16));
      }
      _mm512_storeu_ps(ci, v0);
      _mm512_storeu_ps(ci + 16, v1);
    }
  }
};

// Epilogue: C (row stride ldc) = bf16(acc (+ bias[32] when not null)), rounded to nearest even.
struct StoreBf16 {
  bf16* c;
  int64_t ldc;
  const float* bias;
  __attribute__((always_inline)) void operator()(__m512 (&acc)[kRows][2]) const {
    const __m512 bias0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    const __m512 bias1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_add_ps(acc[i][1], bias1), _mm512_add_ps(acc[i][0], bias0));
      _mm512_storeu_si512(c + i * ldc, (__m512i)h);
    }
  }
};

void block_8x32(const Left& A, int64_t i0, const uint32_t* panel, int64_t k0, int64_t k1, float* c, int64_t ldc,
                bool accumulate) {
  block_8x32_with(A, i0, panel, k0, k1, StoreF32{c, ldc, nullptr, accumulate});
}

void block_8x32(const Left& A, int64_t i0, const uint32_t* panel, int64_t k0, int64_t k1, bf16* c, int64_t ldc) {
  block_8x32_with(A, i0, panel, k0, k1, StoreBf16{c, ldc, nullptr});
}

}  // namespace pairs

namespace {
using namespace pairs;

constexpr int64_t kGroup = 64;  // rows per task of rows_times_panels

// C[M, N] (=, or += for float with accumulate) = A[M, K] . B (+ bias [N] when not null), with A row-major
// bf16 (pairs along its rows) and B packed into panels; f32 or bf16 results. Rows in groups of kGroup
// (one task each) so that a group's rows stay in cache across all panels.
template <class Out>
void rows_times_panels(Out* c, const bf16* a, int64_t M, int64_t K2, const uint32_t* b, int64_t N, const float* bias,
                       bool accumulate) {
  const Left A{reinterpret_cast<const uint32_t*>(a), K2, 1};
  parallel_rows((M + kGroup - 1) / kGroup, kGroup * N * K2 * 2, [&](int64_t g) {
    const int64_t m0 = g * kGroup, m1 = std::min(M, m0 + kGroup);
    for (int64_t p = 0; p < N / 32; ++p) {
      const float* bp = bias ? bias + 32 * p : nullptr;
      for (int64_t i0 = m0; i0 < m1; i0 += kRows) {
        Out* at = c + i0 * N + 32 * p;
        if constexpr (std::is_same_v<Out, float>)
          block_8x32_with(A, i0, b + p * K2 * 32, 0, K2, StoreF32{at, N, bp, accumulate});
        else
          block_8x32_with(A, i0, b + p * K2 * 32, 0, K2, StoreBf16{at, N, bp});
      }
    }
  });
}

// Left operand for the weight gradient: 32 rows of C are 32 consecutive columns of src (row stride ld,
// pairs along the rows of src). Written as 4 blocks of 8 rows, [4][K2][8] words, so that the kernel
// reads each block's pairs contiguously.
void pack_left_blocks(uint32_t* dst, const bf16* src, int64_t K2, int64_t ld) {
  const __m512i lo = _mm512_load_si512(kPairLo), hi = _mm512_load_si512(kPairHi);
  for (int64_t k2 = 0; k2 < K2; ++k2) {
    const bf16* r0 = src + 2 * k2 * ld;
    const __m512i x = _mm512_loadu_si512(r0), y = _mm512_loadu_si512(r0 + ld);
    const __m512i w0 = _mm512_permutex2var_epi16(x, lo, y), w1 = _mm512_permutex2var_epi16(x, hi, y);
    uint32_t* at = dst + k2 * kRows;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(at), _mm512_castsi512_si256(w0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(at + K2 * kRows), _mm512_extracti64x4_epi64(w0, 1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(at + 2 * K2 * kRows), _mm512_castsi512_si256(w1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(at + 3 * K2 * kRows), _mm512_extracti64x4_epi64(w1, 1));
  }
}

}  // namespace

bool weight_gradient_bf16_supported(int64_t N, int64_t IN, int64_t OUT) {
  return N > 0 && N % 2 == 0 && IN % 32 == 0 && OUT % 32 == 0 && IN > 0 && OUT > 0;
}

void weight_gradient_bf16(float* dweight, const bf16* dout, const bf16* inp, int64_t N, int64_t IN, int64_t OUT,
                          bool accumulate) {
  ROTOR_CHECK(weight_gradient_bf16_supported(N, IN, OUT), "weight_gradient_bf16: unsupported sizes N=", N,
              " IN=", IN, " OUT=", OUT);
  const int64_t K2 = N / 2;
  constexpr int64_t kSlice = 1024;  // reduction slice (pairs): a 128 KB slice of a right panel
  // one kernel call per (8 rows, 32 columns) block, the reduction in slices (the first one writes unless
  // accumulating)
  auto block = [&](const uint32_t* a_block, const uint32_t* panel, int64_t mb, int64_t p) {
    for (int64_t k0 = 0; k0 < K2; k0 += kSlice)
      block_8x32(Left{a_block, 1, kRows}, 0, panel, k0, std::min(K2, k0 + kSlice), dweight + mb * kRows * IN + 32 * p,
                 IN, accumulate || k0 > 0);
  };
  // The larger operand is packed piecewise right before its products (the pieces stay in cache); the
  // smaller one is packed whole first, into a buffer that the whole team shares.
  thread_local std::vector<uint32_t> whole;
  if (OUT >= IN) {  // inp packed whole; 32 rows of dweight at a time
    whole.resize(size_t(IN * K2));
    uint32_t* bp = whole.data();
    parallel_rows(IN / 32, 32 * N, [&](int64_t p) { pack_n_contiguous(bp + p * K2 * 32, inp + 32 * p, IN, K2, 32); });
    parallel_rows(OUT / 32, 32 * IN * N, [&](int64_t g) {
      thread_local std::vector<uint32_t> piece;
      piece.resize(size_t(32 * K2));
      pack_left_blocks(piece.data(), dout + 32 * g, K2, OUT);
      for (int64_t p = 0; p < IN / 32; ++p)
        for (int64_t j = 0; j < 32 / kRows; ++j) block(piece.data() + j * K2 * kRows, bp + p * K2 * 32, 4 * g + j, p);
    });
  } else {  // dout packed whole; 32 columns of dweight at a time
    whole.resize(size_t(OUT * K2));
    uint32_t* ap = whole.data();
    parallel_rows(OUT / 32, 32 * N, [&](int64_t g) { pack_left_blocks(ap + g * 32 * K2, dout + 32 * g, K2, OUT); });
    parallel_rows(IN / 32, 32 * OUT * N, [&](int64_t p) {
      thread_local std::vector<uint32_t> piece;
      piece.resize(size_t(32 * K2));
      pack_n_contiguous(piece.data(), inp + 32 * p, IN, K2, 32);
      for (int64_t mb = 0; mb < OUT / kRows; ++mb) block(ap + mb * K2 * kRows, piece.data(), mb, p);
    });
  }
}


bool linear_pairs_supported(int64_t N, int64_t IN, int64_t OUT) {
  return N > 0 && N % kRows == 0 && IN % 32 == 0 && OUT % 32 == 0 && IN > 0 && OUT > 0;
}

template <class Out>
void linear_forward_pairs(Out* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t IN,
                          int64_t OUT) {
  ROTOR_CHECK(linear_pairs_supported(N, IN, OUT), "linear_forward_pairs: unsupported sizes");
  // the calling thread's buffer, shared with the team through this pointer (a thread_local named inside
  // the parallel region would be each worker's own)
  thread_local std::vector<uint32_t> buffer;
  buffer.resize(size_t(IN / 2 * OUT));
  uint32_t* packed = buffer.data();
  // weight [OUT, IN] is the right operand's transpose: its pairs (along IN) are contiguous
  parallel_rows(OUT / 32, 32 * IN, [&](int64_t p) {
    pack_k_contiguous(packed + p * (IN / 2) * 32, weight + 32 * p * IN, IN, IN / 2, 32);
  });
  rows_times_panels<Out>(out, inp, N, IN / 2, packed, OUT, bias, false);
}

template <class Out>
void linear_input_grad_pairs(Out* dinp, const bf16* dout, const bf16* weight, int64_t N, int64_t IN, int64_t OUT,
                             bool accumulate) {
  ROTOR_CHECK(linear_pairs_supported(N, IN, OUT), "linear_input_grad_pairs: unsupported sizes");
  thread_local std::vector<uint32_t> buffer;  // shared through `packed`, as above
  buffer.resize(size_t(OUT / 2 * IN));
  uint32_t* packed = buffer.data();
  // dinp = dout . weight: weight's rows (OUT) are the reduction, its columns (IN) contiguous
  parallel_rows(IN / 32, 32 * OUT, [&](int64_t p) {
    pack_n_contiguous(packed + p * (OUT / 2) * 32, weight + 32 * p, IN, OUT / 2, 32);
  });
  rows_times_panels<Out>(dinp, dout, N, OUT / 2, packed, IN, nullptr, accumulate);
}

template void linear_forward_pairs<float>(float*, const bf16*, const bf16*, const float*, int64_t, int64_t, int64_t);
template void linear_forward_pairs<bf16>(bf16*, const bf16*, const bf16*, const float*, int64_t, int64_t, int64_t);
template void linear_input_grad_pairs<float>(float*, const bf16*, const bf16*, int64_t, int64_t, int64_t, bool);
template void linear_input_grad_pairs<bf16>(bf16*, const bf16*, const bf16*, int64_t, int64_t, int64_t, bool);

#else  // no AVX512-BF16 in this build: callers take oneDNN

bool weight_gradient_bf16_supported(int64_t, int64_t, int64_t) { return false; }
bool linear_pairs_supported(int64_t, int64_t, int64_t) { return false; }

void weight_gradient_bf16(float*, const bf16*, const bf16*, int64_t, int64_t, int64_t, bool) {
  throw Error("weight_gradient_bf16: needs a build with AVX512-BF16");
}
template <class Out>
void linear_forward_pairs(Out*, const bf16*, const bf16*, const float*, int64_t, int64_t, int64_t) {
  throw Error("linear_forward_pairs: needs a build with AVX512-BF16");
}
template <class Out>
void linear_input_grad_pairs(Out*, const bf16*, const bf16*, int64_t, int64_t, int64_t, bool) {
  throw Error("linear_input_grad_pairs: needs a build with AVX512-BF16");
}
template void linear_forward_pairs<float>(float*, const bf16*, const bf16*, const float*, int64_t, int64_t, int64_t);
template void linear_forward_pairs<bf16>(bf16*, const bf16*, const bf16*, const float*, int64_t, int64_t, int64_t);
template void linear_input_grad_pairs<float>(float*, const bf16*, const bf16*, int64_t, int64_t, int64_t, bool);
template void linear_input_grad_pairs<bf16>(bf16*, const bf16*, const bf16*, int64_t, int64_t, int64_t, bool);

#endif

}  // namespace rotor::kernels
