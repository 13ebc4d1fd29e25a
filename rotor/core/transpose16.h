#pragma once
// In-register transpose of a 16 x 16 tile of 32-bit words on AVX-512: used by Tensor::copy_ for
// transposed layouts and by the kernels' operand packing (kernels/vector_math.h re-exports it).
#if defined(__AVX512F__)
#include <immintrin.h>

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

}  // namespace rotor::simd
#endif
