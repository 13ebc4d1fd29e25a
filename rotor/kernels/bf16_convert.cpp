#include "rotor/kernels/bf16_convert.h"

#include <algorithm>

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
