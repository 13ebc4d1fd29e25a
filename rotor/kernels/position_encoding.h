#pragma once
// Absolute position encodings added to the token embeddings: learned (a trained [ctx, C] table) and
// sinusoidal (Vaswani et al.: pe[t, 2i] = sin(t / base^(2i/C)), pe[t, 2i+1] = cos(same)).
// RoPE is applied inside attention instead (kernels/attention.h).
#include <cstdint>

namespace rotor::kernels {

// x: [B, T, C] += table[t] for every batch row; table: [>= T, C].
template <class T> void add_position_forward(T* x, const T* table, int64_t B, int64_t Tn, int64_t C);
// dtable: [>= T, C] (+=) the sum over the batch of dx: [B, T, C].
template <class T> void add_position_backward(T* dtable, const T* dx, int64_t B, int64_t Tn, int64_t C);
// table: [T, C], the fixed sinusoidal encoding.
template <class T> void sinusoidal_table(T* table, int64_t Tn, int64_t C, double base = 10000.0);

}  // namespace rotor::kernels
