#include "rotor/kernels/gemv.h"

#include <algorithm>

#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {
namespace {

constexpr int64_t kRowsPerBlock = 4;             // rows sharing each load of x
constexpr int64_t kParallelWeights = 1 << 16;    // weights below which one thread does it all

// Calls block(row0, rows) over [0, OUT) in blocks of kRowsPerBlock rows (the last may be shorter).
template <class Fn>
void for_row_blocks(int64_t IN, int64_t OUT, Fn&& block) {
  const int64_t blocks = (OUT + kRowsPerBlock - 1) / kRowsPerBlock;
#pragma omp parallel for schedule(static) if (IN * OUT >= kParallelWeights)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t r0 = b * kRowsPerBlock;
    block(r0, std::min(kRowsPerBlock, OUT - r0));
  }
}

}  // namespace

void gemv_f32(float* out, const float* x, const float* weight, int64_t IN, int64_t OUT) {
  for_row_blocks(IN, OUT, [&](int64_t r0, int64_t rows) {
#if defined(ROTOR_HAVE_AVX512)
    if (rows == kRowsPerBlock) {
      const float* w0 = weight + r0 * IN;
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t i = 0; i < IN; i += 16) {
        const __mmask16 m = vec::tail_mask(IN - i);
        const __m512 xv = vec::load(x + i, m);
        a0 = _mm512_fmadd_ps(vec::load(w0 + i, m), xv, a0);
        a1 = _mm512_fmadd_ps(vec::load(w0 + IN + i, m), xv, a1);
        a2 = _mm512_fmadd_ps(vec::load(w0 + 2 * IN + i, m), xv, a2);
        a3 = _mm512_fmadd_ps(vec::load(w0 + 3 * IN + i, m), xv, a3);
      }
      out[r0] = vec::reduce_add(a0);
      out[r0 + 1] = vec::reduce_add(a1);
      out[r0 + 2] = vec::reduce_add(a2);
      out[r0 + 3] = vec::reduce_add(a3);
      return;
    }
#endif
    for (int64_t r = r0; r < r0 + rows; ++r) {
      const float* w = weight + r * IN;
      float s = 0;
      for (int64_t i = 0; i < IN; ++i) s += w[i] * x[i];
      out[r] = s;
    }
  });
}

void gemv_bf16(float* out, const bf16* x16, const bf16* weight16, int64_t IN, int64_t OUT) {
  for_row_blocks(IN, OUT, [&](int64_t r0, int64_t rows) {
#if defined(__AVX512BF16__)
    if (rows == kRowsPerBlock) {
      const bf16* w0 = weight16 + r0 * IN;
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      // 32 bf16 (16 pairs) per step; the masked tail loads zeros past IN
      auto load32 = [](const bf16* p, __mmask32 m) { return (__m512bh)_mm512_maskz_loadu_epi16(m, p); };
      for (int64_t i = 0; i < IN; i += 32) {
        const int64_t left = IN - i;
        const __mmask32 m = left >= 32 ? __mmask32(0xFFFFFFFFu) : __mmask32((1u << left) - 1u);
        const __m512bh xv = load32(x16 + i, m);
        a0 = _mm512_dpbf16_ps(a0, load32(w0 + i, m), xv);
        a1 = _mm512_dpbf16_ps(a1, load32(w0 + IN + i, m), xv);
        a2 = _mm512_dpbf16_ps(a2, load32(w0 + 2 * IN + i, m), xv);
        a3 = _mm512_dpbf16_ps(a3, load32(w0 + 3 * IN + i, m), xv);
      }
      out[r0] = vec::reduce_add(a0);
      out[r0 + 1] = vec::reduce_add(a1);
      out[r0 + 2] = vec::reduce_add(a2);
      out[r0 + 3] = vec::reduce_add(a3);
      return;
    }
#endif
    for (int64_t r = r0; r < r0 + rows; ++r) {
      const bf16* w = weight16 + r * IN;
      float s = 0;
      for (int64_t i = 0; i < IN; ++i) s += bf16_to_float(w[i]) * bf16_to_float(x16[i]);
      out[r] = s;
    }
  });
}

}  // namespace rotor::kernels
