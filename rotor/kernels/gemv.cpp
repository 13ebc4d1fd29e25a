#include "rotor/kernels/gemv.h"

#include <algorithm>

#include "rotor/core/error.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {
namespace {

constexpr int64_t R = kGemvRows;
constexpr int64_t kParallelWeights = 1 << 16;  // weights below which one thread does it all
constexpr int64_t kPrefetchTiles = 8;          // how far ahead of the tile being read

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Packs weight [OUT, IN] into [blocks, chunks, R, W] tiles of element type T (zero padded).
template <class T, class Convert>
std::vector<T, CacheLineAllocator<T>> pack(const float* weight, int64_t OUT, int64_t IN, int64_t W, Convert convert) {
  const int64_t blocks = ceil_div(OUT, R), chunks = ceil_div(IN, W);
  std::vector<T, CacheLineAllocator<T>> p(static_cast<size_t>(blocks * chunks * R * W), convert(0.0f));
  for (int64_t r = 0; r < OUT; ++r) {
    const int64_t b = r / R, rr = r % R;
    for (int64_t c = 0; c < IN; ++c)
      p[static_cast<size_t>(((b * chunks + c / W) * R + rr) * W + c % W)] = convert(weight[r * IN + c]);
  }
  return p;
}

// Calls block(b, tile) for each row block b of w, tile pointing at its first tile; the block writes
// R outputs into tile-local storage, copied to out for the rows that exist.
template <class Fn>
void for_blocks(float* out, const GemvMatrix& w, Fn&& block) {
  const int64_t blocks = ceil_div(w.rows, R);
#pragma omp parallel for schedule(static) if (w.rows * w.cols >= kParallelWeights)
  for (int64_t b = 0; b < blocks; ++b) {
    float sums[R];
    block(b, sums);
    const int64_t n = std::min(R, w.rows - b * R);
    for (int64_t i = 0; i < n; ++i) out[b * R + i] = sums[i];
  }
}

}  // namespace

GemvMatrix pack_gemv_f32(const float* weight, int64_t OUT, int64_t IN) {
  GemvMatrix m;
  m.rows = OUT;
  m.cols = IN;
  m.f32 = pack<float>(weight, OUT, IN, 16, [](float v) { return v; });
  return m;
}

GemvMatrix pack_gemv_bf16(const float* weight, int64_t OUT, int64_t IN) {
  GemvMatrix m;
  m.rows = OUT;
  m.cols = IN;
  m.b16 = pack<bf16>(weight, OUT, IN, 32, [](float v) { return float_to_bf16(v); });
  return m;
}

void gemv_f32(float* out, const float* x, const GemvMatrix& w) {
  ROTOR_CHECK(!w.f32.empty() || w.rows * w.cols == 0, "gemv_f32: the matrix is not packed as f32");
  const int64_t chunks = ceil_div(w.cols, 16), IN = w.cols;
  for_blocks(out, w, [&](int64_t b, float* sums) {
    const float* t = w.f32.data() + b * chunks * R * 16;
#if defined(ROTOR_HAVE_AVX512)
    __m512 a[R];
    for (int64_t r = 0; r < R; ++r) a[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < chunks; ++k, t += R * 16) {
      const __m512 xv = vec::load(x + k * 16, vec::tail_mask(IN - k * 16));
      _mm_prefetch(reinterpret_cast<const char*>(t + kPrefetchTiles * R * 16), _MM_HINT_T0);
      for (int64_t r = 0; r < R; ++r) a[r] = _mm512_fmadd_ps(_mm512_load_ps(t + r * 16), xv, a[r]);
    }
    for (int64_t r = 0; r < R; ++r) sums[r] = vec::reduce_add(a[r]);
#else
    for (int64_t r = 0; r < R; ++r) sums[r] = 0;
    for (int64_t k = 0; k < chunks; ++k, t += R * 16)
      for (int64_t r = 0; r < R; ++r)
        for (int64_t i = 0; i < 16 && k * 16 + i < IN; ++i) sums[r] += t[r * 16 + i] * x[k * 16 + i];
#endif
  });
}

void gemv_bf16(float* out, const bf16* x16, const GemvMatrix& w) {
  ROTOR_CHECK(!w.b16.empty() || w.rows * w.cols == 0, "gemv_bf16: the matrix is not packed as bf16");
  const int64_t chunks = ceil_div(w.cols, 32), IN = w.cols;
  for_blocks(out, w, [&](int64_t b, float* sums) {
    const bf16* t = w.b16.data() + b * chunks * R * 32;
#if defined(__AVX512BF16__)
    __m512 a[R];
    for (int64_t r = 0; r < R; ++r) a[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < chunks; ++k, t += R * 32) {
      const int64_t left = IN - k * 32;
      const __mmask32 m = left >= 32 ? __mmask32(0xFFFFFFFFu) : __mmask32((1u << left) - 1u);
      const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(m, x16 + k * 32);
      _mm_prefetch(reinterpret_cast<const char*>(t + kPrefetchTiles * R * 32), _MM_HINT_T0);
      for (int64_t r = 0; r < R; ++r)
        a[r] = _mm512_dpbf16_ps(a[r], (__m512bh)_mm512_load_si512(t + r * 32), xv);
    }
    for (int64_t r = 0; r < R; ++r) sums[r] = vec::reduce_add(a[r]);
#else
    for (int64_t r = 0; r < R; ++r) sums[r] = 0;
    for (int64_t k = 0; k < chunks; ++k, t += R * 32)
      for (int64_t r = 0; r < R; ++r)
        for (int64_t i = 0; i < 32 && k * 32 + i < IN; ++i)
          sums[r] += bf16_to_float(t[r * 32 + i]) * bf16_to_float(x16[k * 32 + i]);
#endif
  });
}

}  // namespace rotor::kernels
