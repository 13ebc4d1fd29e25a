#include "rotor/kernels/embedding.h"

#include <cstring>

#include "rotor/core/error.h"
#include "rotor/kernels/parallel_rows.h"

namespace rotor::kernels {

template <class T>
void embedding_forward(T* out, const int32_t* ids, const T* table, int64_t N, int64_t C, int64_t vocab) {
  for (int64_t n = 0; n < N; ++n)
    ROTOR_CHECK(ids[n] >= 0 && ids[n] < vocab, "embedding: token id ", ids[n], " at position ", n,
                " is outside the vocabulary [0, ", vocab, ")");
  parallel_rows(N, C, [&](int64_t n) { std::memcpy(out + n * C, table + int64_t(ids[n]) * C, sizeof(T) * C); });
}

template <class T>
void embedding_backward(T* dtable, const T* dout, const int32_t* ids, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    T* row = dtable + int64_t(ids[n]) * C;
    const T* g = dout + n * C;
#pragma omp simd
    for (int64_t j = 0; j < C; ++j) row[j] += g[j];
  }
}

template void embedding_forward<float>(float*, const int32_t*, const float*, int64_t, int64_t, int64_t);
template void embedding_forward<double>(double*, const int32_t*, const double*, int64_t, int64_t, int64_t);
template void embedding_backward<float>(float*, const float*, const int32_t*, int64_t, int64_t);
template void embedding_backward<double>(double*, const double*, const int32_t*, int64_t, int64_t);

}  // namespace rotor::kernels
