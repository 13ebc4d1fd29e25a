#pragma once
// The inner loop of word2vec: binary logistic regression of one hidden vector against a few output rows
// (the positive word and its negatives, or the inner nodes of a Huffman path).
//
//   h:    [Dp]      hidden vector (input row of the centre word for skip-gram, context mean for CBOW)
//   grad: [Dp]      accumulates sum_k g_k * out[target_k]; the caller adds it to the input row(s)
//   out:  [R, Dp]   output matrix, rows updated in place: out[t_k] += g_k * h
//   g_k = lr * (label_k - sigmoid(h . out[t_k]))
//
// Rows are padded to Dp = a multiple of 16 floats (one AVX-512 register) and 64-byte aligned; the padding
// stays zero because every update is a combination of zero-padded rows. All dot products of a call are
// computed before any row is updated (the targets are nearly always distinct, and doing the dots first
// lets them overlap), which matches sequential SGD except when one row appears twice in a call.
#include <cmath>
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

// GCC 12's AVX-512 headers initialise "undefined" registers from themselves (__Y = __Y), which trips
// -Wmaybe-uninitialized wherever a shuffle or extract is inlined; the code is correct.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace rotor::w2v {

constexpr int kLanes = 16;           // floats per padded block
constexpr int kMaxTargets = 64;      // upper bound on targets per call (1 + negatives, or code length)

// Precomputed sigmoid and -log(sigmoid) on [-kMaxLogit, kMaxLogit]; outside, the end values are used.
class SigmoidTable {
 public:
  static constexpr int kSize = 1024;
  static constexpr float kMaxLogit = 8.0f;
  SigmoidTable() {
    for (int i = 0; i <= kSize; ++i) {
      const double x = (2.0 * i / kSize - 1.0) * kMaxLogit;
      sigmoid_[i] = static_cast<float>(1.0 / (1.0 + std::exp(-x)));
      neg_log_sigmoid_[i] = static_cast<float>(std::log1p(std::exp(-x)));
    }
  }
  int index(float x) const {
    const float scaled = (x + kMaxLogit) * (kSize / (2.0f * kMaxLogit)) + 0.5f;
    return scaled <= 0.0f ? 0 : scaled >= static_cast<float>(kSize) ? kSize : static_cast<int>(scaled);
  }
  float sigmoid(float x) const { return sigmoid_[index(x)]; }
  float neg_log_sigmoid(float x) const { return neg_log_sigmoid_[index(x)]; }

 private:
  float sigmoid_[kSize + 1];
  float neg_log_sigmoid_[kSize + 1];
};

#if defined(__AVX512F__)
// Sum of the 16 lanes (written out because GCC 12's _mm512_reduce_add_ps warns spuriously).
inline float horizontal_sum(__m512 v) {
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E));  // swap 256-bit halves
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0xB1));  // swap 128-bit quarters
  v = _mm512_add_ps(v, _mm512_permute_ps(v, 0x4E));        // swap pairs
  v = _mm512_add_ps(v, _mm512_permute_ps(v, 0xB1));        // swap neighbours
  return _mm512_cvtss_f32(v);
}
#endif

// One call = one (hidden, targets) SGD step. NB is the number of 16-float blocks (Dp / 16) when known at
// compile time (the registers then hold h and grad), or 0 to use the runtime `blocks`.
// Returns the summed loss  sum_k -log sigmoid(+-h . out[t_k]).
template <int NB>
inline float train_targets(const float* __restrict h, float* __restrict grad, float* __restrict out, int64_t stride,
                           const int32_t* targets, const float* labels, int n, float lr, const SigmoidTable& table,
                           int blocks = NB) {
  const int nb = NB > 0 ? NB : blocks;
  float scale[kMaxTargets];
  float loss = 0.0f;
#if defined(__AVX512F__)
  if constexpr (NB > 0) {
    __m512 hv[NB];
    for (int b = 0; b < NB; ++b) hv[b] = _mm512_load_ps(h + b * kLanes);
    for (int k = 0; k < n; ++k) {
      const float* row = out + targets[k] * stride;
      __m512 acc = _mm512_mul_ps(hv[0], _mm512_load_ps(row));
      for (int b = 1; b < NB; ++b) acc = _mm512_fmadd_ps(hv[b], _mm512_load_ps(row + b * kLanes), acc);
      const float f = horizontal_sum(acc);
      scale[k] = lr * (labels[k] - table.sigmoid(f));
      loss += table.neg_log_sigmoid(labels[k] > 0.5f ? f : -f);
    }
    __m512 gv[NB];
    for (int b = 0; b < NB; ++b) gv[b] = _mm512_load_ps(grad + b * kLanes);
    for (int k = 0; k < n; ++k) {
      float* row = out + targets[k] * stride;
      const __m512 g = _mm512_set1_ps(scale[k]);
      for (int b = 0; b < NB; ++b) {
        const __m512 o = _mm512_load_ps(row + b * kLanes);
        gv[b] = _mm512_fmadd_ps(g, o, gv[b]);
        _mm512_store_ps(row + b * kLanes, _mm512_fmadd_ps(g, hv[b], o));
      }
    }
    for (int b = 0; b < NB; ++b) _mm512_store_ps(grad + b * kLanes, gv[b]);
    return loss;
  }
#endif
  const int dp = nb * kLanes;
  for (int k = 0; k < n; ++k) {
    const float* row = out + targets[k] * stride;
    float f = 0.0f;
#pragma omp simd reduction(+ : f)
    for (int d = 0; d < dp; ++d) f += h[d] * row[d];
    scale[k] = lr * (labels[k] - table.sigmoid(f));
    loss += table.neg_log_sigmoid(labels[k] > 0.5f ? f : -f);
  }
  for (int k = 0; k < n; ++k) {
    float* row = out + targets[k] * stride;
    const float g = scale[k];
#pragma omp simd
    for (int d = 0; d < dp; ++d) {
      grad[d] += g * row[d];
      row[d] += g * h[d];
    }
  }
  return loss;
}

// dst[0..dp) += src[0..dp)
inline void add_rows(float* __restrict dst, const float* __restrict src, int dp) {
#pragma omp simd
  for (int d = 0; d < dp; ++d) dst[d] += src[d];
}

}  // namespace rotor::w2v
