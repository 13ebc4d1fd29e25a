#include "rotor/kernels/position_encoding.h"

#include <cmath>

#include "rotor/kernels/parallel_rows.h"

namespace rotor::kernels {

template <class T> void add_position_forward(T* x, const T* table, int64_t B, int64_t Tn, int64_t C) {
  parallel_rows(B * Tn, C, [&](int64_t r) {
    T* row = x + r * C;
    const T* p = table + (r % Tn) * C;
#pragma omp simd
    for (int64_t j = 0; j < C; ++j) row[j] += p[j];
  });
}

template <class T> void add_position_backward(T* dtable, const T* dx, int64_t B, int64_t Tn, int64_t C) {
  parallel_rows(Tn, B * C, [&](int64_t t) {
    T* d = dtable + t * C;
    for (int64_t b = 0; b < B; ++b) {
      const T* g = dx + (b * Tn + t) * C;
#pragma omp simd
      for (int64_t j = 0; j < C; ++j) d[j] += g[j];
    }
  });
}

template <class T> void sinusoidal_table(T* table, int64_t Tn, int64_t C, double base) {
  for (int64_t t = 0; t < Tn; ++t)
    for (int64_t j = 0; j < C; ++j) {
      const int64_t i2 = j - (j % 2);
      const double angle = double(t) / std::pow(base, double(i2) / double(C));
      table[t * C + j] = T(j % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
}

template void add_position_forward<float>(float*, const float*, int64_t, int64_t, int64_t);
template void add_position_forward<double>(double*, const double*, int64_t, int64_t, int64_t);
template void add_position_backward<float>(float*, const float*, int64_t, int64_t, int64_t);
template void add_position_backward<double>(double*, const double*, int64_t, int64_t, int64_t);
template void sinusoidal_table<float>(float*, int64_t, int64_t, double);
template void sinusoidal_table<double>(double*, int64_t, int64_t, double);

}  // namespace rotor::kernels
