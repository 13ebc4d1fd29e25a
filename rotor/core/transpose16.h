#pragma once
// Transposes of 32-bit words on AVX-512, 16 x 16 tiles in registers: used by Tensor::copy_ for
// transposed layouts and by the kernels' operand packing (kernels/vector_math.h re-exports them).
#if defined(__AVX512F__)
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

// GCC 12 reports the undefined pass-through operands inside the unpack/shuffle intrinsics as
// uninitialized once they are inlined (a false positive in its own headers), as in kernels/vector_math.h.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace rotor::simd {

// In-register transpose of a 16 x 16 tile of 32-bit words: r[i] holds row i on entry, column i on exit.
inline void transpose16(__m512i r[16]) {
  __m512i a[16], b[16];
  for (int i = 0; i < 8; ++i) {  // interleave words of row pairs within each 128-bit lane
    a[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // b[4i + k], lane l: column 4l + k of rows 4i .. 4i + 3
    b[4 * i + 0] = _mm512_unpacklo_epi64(a[4 * i], a[4 * i + 2]);
    b[4 * i + 1] = _mm512_unpackhi_epi64(a[4 * i], a[4 * i + 2]);
    b[4 * i + 2] = _mm512_unpacklo_epi64(a[4 * i + 1], a[4 * i + 3]);
    b[4 * i + 3] = _mm512_unpackhi_epi64(a[4 * i + 1], a[4 * i + 3]);
  }
  for (int k = 0; k < 4; ++k) {  // lane l of b[k], b[4 + k], b[8 + k], b[12 + k] make column 4l + k
    const __m512i c0 = _mm512_shuffle_i32x4(b[k], b[4 + k], 0x88), c1 = _mm512_shuffle_i32x4(b[k], b[4 + k], 0xDD);
    const __m512i d0 = _mm512_shuffle_i32x4(b[8 + k], b[12 + k], 0x88);
    const __m512i d1 = _mm512_shuffle_i32x4(b[8 + k], b[12 + k], 0xDD);
    r[k] = _mm512_shuffle_i32x4(c0, d0, 0x88);
    r[8 + k] = _mm512_shuffle_i32x4(c0, d0, 0xDD);
    r[4 + k] = _mm512_shuffle_i32x4(c1, d1, 0x88);
    r[12 + k] = _mm512_shuffle_i32x4(c1, d1, 0xDD);
  }
}

// dst[j * dst_ld + i] = src[i * src_ld + j] for i < rows, j < cols: tiles of 16 rows (outer) by 16
// columns, masked at the ragged edges.
inline void transpose_block(uint32_t* dst, int64_t dst_ld, const uint32_t* src, int64_t src_ld, int64_t rows,
                            int64_t cols) {
  for (int64_t i0 = 0; i0 < rows; i0 += 16) {
    const int64_t ni = std::min<int64_t>(16, rows - i0);
    const __mmask16 mi = static_cast<__mmask16>((1u << ni) - 1u);
    for (int64_t j0 = 0; j0 < cols; j0 += 16) {
      const int64_t nj = std::min<int64_t>(16, cols - j0);
      const __mmask16 mj = static_cast<__mmask16>((1u << nj) - 1u);
      __m512i r[16];
      if (ni == 16 && nj == 16) {  // a whole tile (operand packing: always), unmasked
        for (int64_t ii = 0; ii < 16; ++ii) r[ii] = _mm512_loadu_si512(src + (i0 + ii) * src_ld + j0);
        transpose16(r);
        for (int64_t jj = 0; jj < 16; ++jj) _mm512_storeu_si512(dst + (j0 + jj) * dst_ld + i0, r[jj]);
        continue;
      }
      for (int64_t ii = 0; ii < 16; ++ii)
        r[ii] = ii < ni ? _mm512_maskz_loadu_epi32(mj, src + (i0 + ii) * src_ld + j0) : _mm512_setzero_si512();
      transpose16(r);
      for (int64_t jj = 0; jj < nj; ++jj) _mm512_mask_storeu_epi32(dst + (j0 + jj) * dst_ld + i0, mi, r[jj]);
    }
  }
}

}  // namespace rotor::simd
#endif
