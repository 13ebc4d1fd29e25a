#pragma once
// NADE (Larochelle & Murray 2011), the neural autoregressive density estimator, over N rows of D inputs
// taken in the ordering `order` (a permutation of 0..D-1). W, V: [D, H] (row d belongs to input d), c: [H],
// b: [D], x and logits: [N, D] row-major:
//   a_0 = c;   h_t = sigmoid(a_t);   logits[o_t] = b[o_t] + V[o_t] . h_t;   a_{t+1} = a_t + x[o_t] W[o_t]
// so logits[o_t] depends on x[o_0 .. o_{t-1}] only, in O(D H) per row (the running sum a_t is shared by all
// conditionals). Rows are independent and split across threads in fixed contiguous ranges.
#include <cstdint>

namespace rotor::kernels {

template <class T>
void nade_forward(T* logits, const T* x, const T* W, const T* c, const T* V, const T* b, const int64_t* order,
                  int64_t N, int64_t D, int64_t H);

// The gradients of sum(g * logits): dx [N, D] is written (may be null); dW, dc, dV, db are accumulated (+=).
// Each thread sums its rows into private dW/dV/dc/db partials, added in thread order afterwards, so the
// result is the same from run to run at a given thread count.
template <class T>
void nade_backward(T* dx, T* dW, T* dc, T* dV, T* db, const T* g, const T* x, const T* W, const T* c, const T* V,
                   const int64_t* order, int64_t N, int64_t D, int64_t H);

}  // namespace rotor::kernels

namespace rotor::kernels {

// Draws N rows x [N, D] from the model, input by input in `order`: x[o_t] = 1 when u[o_t] < sigmoid(logit),
// else 0, with u [N, D] uniforms in [0, 1) given by the caller (so a seed fixes the draws). O(D H) per row.
template <class T>
void nade_sample(T* x, const T* u, const T* W, const T* c, const T* V, const T* b, const int64_t* order, int64_t N,
                 int64_t D, int64_t H);

}  // namespace rotor::kernels
