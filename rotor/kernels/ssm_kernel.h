#pragma once
// S4D's convolution kernel from its discretised diagonal system (the op nn::ssm_kernel, rotor/nn/s4d.h).
// Per channel h and state n, with p, q, cr, ci: [H, N] row-major and K: [H, T]:
//   z = exp(p + i q),   K[h, l] = 2 Re(sum_n (cr + i ci) z^l),   l < T
// The powers are z^l = z^(J m) z^j with l = J m + j, j < J = 64: both tables per (h, n) come from repeated
// complex multiplication in double (relative error about l * 1e-16), so the forward is one small
// matrix-vector product per block of 64 lags, vectorised over j, with one exp and one sin/cos per (h, n).
// Channels are independent tasks: the result does not depend on the thread count.
#include <cstdint>

namespace rotor::kernels {

template <class F>
void ssm_kernel_forward(F* K, const F* p, const F* q, const F* cr, const F* ci, int64_t H, int64_t N, int64_t T);

// The gradients of sum(dK * K), written: with S0 = sum_l dK_l z^l and S1 = sum_l dK_l l z^l (per h, n),
//   dcr = 2 Re S0,  dci = -2 Im S0,  dp = 2 Re((cr + i ci) S1),  dq = -2 Im((cr + i ci) S1).
template <class F>
void ssm_kernel_backward(F* dp, F* dq, F* dcr, F* dci, const F* dK, const F* p, const F* q, const F* cr,
                         const F* ci, int64_t H, int64_t N, int64_t T);

}  // namespace rotor::kernels
