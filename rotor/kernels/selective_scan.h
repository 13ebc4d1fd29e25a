#pragma once
// Mamba's selective scan as one kernel (the op nn::selective_scan, rotor/nn/mamba.h). Per batch row b,
// channel e and state n, with x, delta, y: [B, T, E], A: [E, N], Bm, Cm: [B, T, N], D: [E] row-major:
//   a_t = exp(delta_t A),   h_t = a_t h_{t-1} + delta_t Bm_t x_t  (h_{-1} = 0),   y_t = sum_n Cm_t h_t + D x_t
// Work is split in tasks of (b, 16 consecutive channels); a task runs the recurrence over t with its 16
// channels x N states in vector lanes, so nothing of size T x E x N is kept between forward and backward:
// the backward recomputes the task's states (T x N x 16 values of scratch per thread) and walks t back.
#include <cstdint>

namespace rotor::kernels {

template <class F>
void selective_scan_forward(F* y, const F* x, const F* delta, const F* A, const F* Bm, const F* Cm, const F* D,
                            int64_t B, int64_t T, int64_t E, int64_t N);

// The gradients of sum(dy * y) with respect to every input, written (not accumulated):
//   g_t = dy_t Cm_t + a_{t+1} g_{t+1}                      (the gradient reaching h_t)
//   dx_t = dy_t D + sum_n g_t delta_t Bm_t,   ddelta_t = sum_n g_t (A a_t h_{t-1} + Bm_t x_t)
//   dA = sum_{b,t} g_t delta_t a_t h_{t-1},   dBm_t = sum_e g_t delta_t x_t,   dCm_t = sum_e dy_t h_t,
//   dD = sum_{b,t} dy_t x_t.
// Sums over tasks go through per-task partials added in a fixed order: the same result at any thread count.
template <class F>
void selective_scan_backward(F* dx, F* ddelta, F* dA, F* dBm, F* dCm, F* dD, const F* dy, const F* x, const F* delta,
                             const F* A, const F* Bm, const F* Cm, const F* D, int64_t B, int64_t T, int64_t E,
                             int64_t N);

}  // namespace rotor::kernels
