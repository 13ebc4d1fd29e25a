#pragma once
// Causal softmax attention over a sparse key pattern as one kernel (the op nn::pattern_attention,
// rotor/nn/sparse_attention.h). For head row r of R = B * H and query t, with q, k: [R, T, D] and
// v, out: [R, T, Dv] row-major, and the pattern in compressed rows, the same for every head row (the keys of
// query t are keys[offsets[t] .. offsets[t + 1]), at least one, each in [0, T)):
//   s_j = scale q_t . k_j,   lse_t = log sum_j e^{s_j},   out_t = sum_j e^{s_j - lse_t} v_j
// Nothing of the size of the pattern is kept between forward and backward, only lse: [R, T]; the backward
// recomputes the probabilities from it. Time O(R * nnz * (D + Dv)) for nnz = offsets[T] pairs, memory
// O(R T (D + Dv)): proportional to the pattern, never to T x T. One task per head row, its queries in order.
#include <cstdint>

namespace rotor::kernels {

template <class F>
void sparse_attention_forward(F* out, F* lse, const F* q, const F* k, const F* v, const int64_t* offsets,
                              const int32_t* keys, int64_t R, int64_t T, int64_t D, int64_t Dv, F scale);

// The gradients of sum(dout * out) with respect to q, k and v, written (not accumulated):
//   p_j = e^{s_j - lse_t},  dp_j = dout_t . v_j,  ds_j = p_j (dp_j - dout_t . out_t)
//   dq_t = scale sum_j ds_j k_j,   dk_j += scale ds_j q_t,   dv_j += p_j dout_t
// Each head row is one task that walks its queries in order: the same result at any thread count.
template <class F>
void sparse_attention_backward(F* dq, F* dk, F* dv, const F* dout, const F* q, const F* k, const F* v, const F* out,
                               const F* lse, const int64_t* offsets, const int32_t* keys, int64_t R, int64_t T,
                               int64_t D, int64_t Dv, F scale);

}  // namespace rotor::kernels
