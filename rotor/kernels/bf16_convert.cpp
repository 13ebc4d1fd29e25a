#include "rotor/kernels/bf16_convert.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "rotor/kernels/parallel_rows.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

namespace {
constexpr int64_t kChunk = 1 << 14;
}

void float_to_bf16_buffer(bf16* dst, const float* src, int64_t n) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_rows(chunks, kChunk, [&](int64_t c) {
    const int64_t b = c * kChunk, e = std::min(n, b + kChunk);
    int64_t i = b;
#if defined(__AVX512BF16__)
    for (; i + 16 <= e; i += 16) {
      const __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), reinterpret_cast<const __m256i&>(v));
    }
#endif
    for (; i < e; ++i) dst[i] = float_to_bf16(src[i]);
  });
}

void bf16_to_float_buffer(float* dst, const bf16* src, int64_t n) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_rows(chunks, kChunk, [&](int64_t c) {
    const int64_t b = c * kChunk, e = std::min(n, b + kChunk);
#pragma omp simd
    for (int64_t i = b; i < e; ++i) dst[i] = bf16_to_float(src[i]);
  });
}

}  // namespace rotor::kernels

namespace rotor::kernels {

namespace {
constexpr int64_t kRowBlock = 16;  // rows per work item (and per partial row of column sums)
}  // namespace

namespace {

void prepare_rows(bf16* dout16, float* dbias, const float* dout, const float* factor, int64_t N, int64_t C) {
  const int64_t blocks = (N + kRowBlock - 1) / kRowBlock;
  // column sums: one partial row per block of rows, added in block order (thread-count independent)
  with_zeroed_scratch<float>(dbias ? size_t(blocks * C) : 0, [&](float* partial) {
    parallel_rows(blocks, kRowBlock * C, [&](int64_t blk) {
      const int64_t r0 = blk * kRowBlock, r1 = std::min(N, r0 + kRowBlock);
      float* sums = dbias ? partial + blk * C : nullptr;
      for (int64_t r = r0; r < r1; ++r) {  // row by row: each input row is one contiguous stream
        const int64_t at = r * C;
        int64_t c = 0;
#if defined(ROTOR_HAVE_AVX512)
        for (; c < C; c += 16) {
          const __mmask16 m = vec::tail_mask(C - c);
          __m512 v = vec::load(dout + at + c, m);
          if (factor) v = _mm512_mul_ps(v, vec::load(factor + at + c, m));
          if (dout16) vec::store_bf16(dout16 + at + c, v, m);
          if (sums) vec::store(sums + c, _mm512_add_ps(vec::load(sums + c, m), v), m);
        }
#endif
        for (; c < C; ++c) {
          const float g = factor ? dout[at + c] * factor[at + c] : dout[at + c];
          if (dout16) dout16[at + c] = float_to_bf16(g);
          if (sums) sums[c] += g;
        }
      }
    });
    if (dbias)
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const float* p = partial + blk * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) dbias[c] += p[c];
      }
  });
}

}  // namespace

void prepare_output_grad_bf16(bf16* dout16, float* dbias, const float* dout, const float* factor, int64_t N,
                              int64_t C) {
  prepare_rows(dout16, dbias, dout, factor, N, C);
}

void store_row_bf16(bf16* dst, const float* row, int64_t n, float* sums) {
  int64_t i = 0;
#if defined(ROTOR_HAVE_AVX512)
  for (; i < n; i += 16) {
    const __mmask16 m = vec::tail_mask(n - i);
    const __m512 v = vec::load(row + i, m);
    vec::store_bf16(dst + i, v, m);
    if (sums) vec::store(sums + i, _mm512_add_ps(vec::load(sums + i, m), v), m);
  }
#endif
  for (; i < n; ++i) {
    dst[i] = float_to_bf16(row[i]);
    if (sums) sums[i] += row[i];
  }
}

}  // namespace rotor::kernels
