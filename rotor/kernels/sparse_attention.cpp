#include "rotor/kernels/sparse_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "rotor/core/threads.h"
#include "rotor/kernels/vector_math.h"

namespace rotor::kernels {

namespace {

// The per-query steps over a key list J (n keys, rows of `width` values in `base`), written once for any F;
// the float versions below do the same sums in AVX-512 registers.

// s[i] = a . base[J_i], i < n.
template <class F>
void row_dots(F* s, const F* a, const F* base, const int32_t* J, int64_t n, int64_t width) {
  for (int64_t i = 0; i < n; ++i) {
    const F* row = base + J[i] * width;
    F acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t c = 0; c < width; ++c) acc += a[c] * row[c];
    s[i] = acc;
  }
}

// o += sum_i w_i base[J_i].
template <class F>
void add_rows(F* o, const F* w, const F* base, const int32_t* J, int64_t n, int64_t width) {
  for (int64_t i = 0; i < n; ++i) {
    const F* row = base + J[i] * width;
#pragma omp simd
    for (int64_t c = 0; c < width; ++c) o[c] += w[i] * row[c];
  }
}

// base[J_i] += w_i a, i < n (the J_i distinct).
template <class F>
void scatter_rows(F* base, const F* w, const F* a, const int32_t* J, int64_t n, int64_t width) {
  for (int64_t i = 0; i < n; ++i) {
    F* row = base + J[i] * width;
#pragma omp simd
    for (int64_t c = 0; c < width; ++c) row[c] += w[i] * a[c];
  }
}

// p_i = e^{s_i - shift}.
template <class F>
void exp_shifted(F* p, const F* s, F shift, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = math_of<F>::exp(s[i] - shift);
}

#if defined(ROTOR_HAVE_AVX512)
// Rows are cut in chunks of 16 lanes, the last one masked.
struct Chunks {
  int64_t count;
  __mmask16 last;
  explicit Chunks(int64_t width) : count((width + 15) / 16), last(vec::tail_mask(width - 16 * (count - 1))) {}
  __mmask16 mask(int64_t c) const { return c == count - 1 ? last : __mmask16(0xFFFF); }
};

// 16 keys at a time: one vector of lane products per key, summed over the chunks, then a 16 x 16 transpose
// turns the 16 vectors into their 16 horizontal sums.
template <>
void row_dots<float>(float* s, const float* a, const float* base, const int32_t* J, int64_t n, int64_t width) {
  const Chunks ch(width);
  for (int64_t i0 = 0; i0 < n; i0 += 16) {
    const int64_t nb = std::min<int64_t>(16, n - i0);
    __m512i acc[16];
    for (int64_t i = 0; i < 16; ++i) {
      __m512 sum = _mm512_setzero_ps();
      if (i < nb) {
        const float* row = base + J[i0 + i] * width;
        for (int64_t c = 0; c < ch.count; ++c)
          sum = _mm512_fmadd_ps(vec::load(a + 16 * c, ch.mask(c)), vec::load(row + 16 * c, ch.mask(c)), sum);
      }
      acc[i] = _mm512_castps_si512(sum);
    }
    vec::transpose16(acc);
    __m512 dots = _mm512_castsi512_ps(acc[0]);
    for (int i = 1; i < 16; ++i) dots = _mm512_add_ps(dots, _mm512_castsi512_ps(acc[i]));
    vec::store(s + i0, dots, vec::tail_mask(nb));
  }
}

// Per chunk, four accumulators over the keys (four FMA chains in flight).
template <>
void add_rows<float>(float* o, const float* w, const float* base, const int32_t* J, int64_t n, int64_t width) {
  const Chunks ch(width);
  for (int64_t c = 0; c < ch.count; ++c) {
    const __mmask16 m = ch.mask(c);
    __m512 acc[4] = {vec::load(o + 16 * c, m), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u)
        acc[u] = _mm512_fmadd_ps(_mm512_set1_ps(w[i + u]), vec::load(base + J[i + u] * width + 16 * c, m), acc[u]);
    for (; i < n; ++i)
      acc[0] = _mm512_fmadd_ps(_mm512_set1_ps(w[i]), vec::load(base + J[i] * width + 16 * c, m), acc[0]);
    vec::store(o + 16 * c, _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])), m);
  }
}

template <>
void scatter_rows<float>(float* base, const float* w, const float* a, const int32_t* J, int64_t n, int64_t width) {
  const Chunks ch(width);
  for (int64_t i = 0; i < n; ++i) {
    const __m512 wi = _mm512_set1_ps(w[i]);
    float* row = base + J[i] * width;
    for (int64_t c = 0; c < ch.count; ++c) {
      const __mmask16 m = ch.mask(c);
      vec::store(row + 16 * c, _mm512_fmadd_ps(wi, vec::load(a + 16 * c, m), vec::load(row + 16 * c, m)), m);
    }
  }
}

template <>
void exp_shifted<float>(float* p, const float* s, float shift, int64_t n) {
  const __m512 sh = _mm512_set1_ps(shift);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = vec::tail_mask(n - i);
    vec::store(p + i, vec::exp(_mm512_sub_ps(vec::load(s + i, m), sh)), m);
  }
}
#endif

// The largest key list.
int64_t longest_row(const int64_t* offsets, int64_t T) {
  int64_t n = 0;
  for (int64_t t = 0; t < T; ++t) n = std::max(n, offsets[t + 1] - offsets[t]);
  return n;
}

int row_threads(int64_t R, int64_t work) {
  if (R <= 1 || work < kParallelThreshold) return 1;
  return std::max(1, std::min<int>(num_threads(), static_cast<int>(R)));
}

// s_i = scale q_t . k_{J_i}.
template <class F>
void scores(F* s, const F* qt, const F* kr, const int32_t* J, int64_t n, int64_t D, F scale) {
  row_dots(s, qt, kr, J, n, D);
  for (int64_t i = 0; i < n; ++i) s[i] *= scale;
}

}  // namespace

template <class F>
void sparse_attention_forward(F* out, F* lse, const F* q, const F* k, const F* v, const int64_t* offsets,
                              const int32_t* keys, int64_t R, int64_t T, int64_t D, int64_t Dv, F scale) {
  const int64_t longest = longest_row(offsets, T);
  const int threads = row_threads(R, R * offsets[T] * (D + Dv));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<F> s(static_cast<size_t>(longest)), p(s.size());
#pragma omp for schedule(static)
    for (int64_t r = 0; r < R; ++r) {
      const F *qr = q + r * T * D, *kr = k + r * T * D, *vr = v + r * T * Dv;
      for (int64_t t = 0; t < T; ++t) {
        const int32_t* J = keys + offsets[t];
        const int64_t n = offsets[t + 1] - offsets[t];
        scores(s.data(), qr + t * D, kr, J, n, D, scale);
        const F m = *std::max_element(s.begin(), s.begin() + n);
        exp_shifted(p.data(), s.data(), m, n);
        F total = 0;
        for (int64_t i = 0; i < n; ++i) total += p[i];
        F* o = out + (r * T + t) * Dv;
        std::fill(o, o + Dv, F(0));
        add_rows(o, p.data(), vr, J, n, Dv);
        const F inv = F(1) / total;
        for (int64_t c = 0; c < Dv; ++c) o[c] *= inv;
        lse[r * T + t] = m + std::log(total);
      }
    }
  }
}

template <class F>
void sparse_attention_backward(F* dq, F* dk, F* dv, const F* dout, const F* q, const F* k, const F* v, const F* out,
                               const F* lse, const int64_t* offsets, const int32_t* keys, int64_t R, int64_t T,
                               int64_t D, int64_t Dv, F scale) {
  const int64_t longest = longest_row(offsets, T);
  const int threads = row_threads(R, 3 * R * offsets[T] * (D + Dv));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<F> s(static_cast<size_t>(longest)), p(s.size()), ds(s.size());
#pragma omp for schedule(static)
    for (int64_t r = 0; r < R; ++r) {
      const F *qr = q + r * T * D, *kr = k + r * T * D, *vr = v + r * T * Dv;
      F *dkr = dk + r * T * D, *dvr = dv + r * T * Dv;
      std::fill(dkr, dkr + T * D, F(0));
      std::fill(dvr, dvr + T * Dv, F(0));
      for (int64_t t = 0; t < T; ++t) {
        const int32_t* J = keys + offsets[t];
        const int64_t n = offsets[t + 1] - offsets[t];
        const F *qt = qr + t * D, *gt = dout + (r * T + t) * Dv, *ot = out + (r * T + t) * Dv;
        scores(s.data(), qt, kr, J, n, D, scale);
        exp_shifted(p.data(), s.data(), lse[r * T + t], n);
        F delta = 0;  // dout_t . out_t = sum_j p_j dp_j
        for (int64_t c = 0; c < Dv; ++c) delta += gt[c] * ot[c];
        row_dots(ds.data(), gt, vr, J, n, Dv);  // dp_j
        for (int64_t i = 0; i < n; ++i) ds[i] = scale * p[i] * (ds[i] - delta);
        F* dqt = dq + (r * T + t) * D;
        std::fill(dqt, dqt + D, F(0));
        add_rows(dqt, ds.data(), kr, J, n, D);
        scatter_rows(dkr, ds.data(), qt, J, n, D);
        scatter_rows(dvr, p.data(), gt, J, n, Dv);
      }
    }
  }
}

#define ROTOR_SPARSE_ATTENTION_INSTANTIATE(F)                                                                       \
  template void sparse_attention_forward<F>(F*, F*, const F*, const F*, const F*, const int64_t*, const int32_t*,   \
                                            int64_t, int64_t, int64_t, int64_t, F);                                 \
  template void sparse_attention_backward<F>(F*, F*, F*, const F*, const F*, const F*, const F*, const F*, const F*, \
                                             const int64_t*, const int32_t*, int64_t, int64_t, int64_t, int64_t, F);
ROTOR_SPARSE_ATTENTION_INSTANTIATE(float)
ROTOR_SPARSE_ATTENTION_INSTANTIATE(double)
#undef ROTOR_SPARSE_ATTENTION_INSTANTIATE

}  // namespace rotor::kernels
