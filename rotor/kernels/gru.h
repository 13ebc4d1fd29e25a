#pragma once
// A whole GRU layer's recurrence as one kernel (the op nn::gru_sequence, rotor/nn/recurrent.h), PyTorch's
// gate order r, z, n. With xg: [B, T, 3H] the input projection x W_ih^T + b_ih, w_hh: [3H, H], b_hh: [3H]
// (zeros for a layer without bias), h0: [B, H] row-major, per step t, with hg = h_{t-1} W_hh^T + b_hh:
//   r = sigmoid(xg_r + hg_r),  z = sigmoid(xg_z + hg_z),  n = tanh(xg_n + r hg_n),  h_t = (1 - z) n + z h_{t-1}
// As kernels/lstm.h: the recurrent product vectorised over the 3H gate rows (W_hh transposed once per call)
// and the gates in the same pass per step, the backward one walk back over t, dW_hh one GEMM at the end.
#include <cstdint>

namespace rotor::kernels {

// -> h: [B, T, H], saved: [B, T, 4H] (r, z, n and hg_n, kept for the backward).
template <class F>
void gru_forward(F* h, F* saved, const F* xg, const F* w_hh, const F* b_hh, const F* h0, int64_t B, int64_t T,
                 int64_t H);

// The gradients of sum(dh * h), written: dxg [B, T, 3H], dw_hh [3H, H], db_hh [3H], dh0 [B, H]. Per step, with
// d the gradient reaching h_t:
//   dn' = d (1 - z) (1 - n^2),  dr' = dn' hg_n r (1 - r),  dz' = d (h_{t-1} - n) z (1 - z)
//   dxg = (dr', dz', dn'),  dhg = (dr', dz', dn' r),  d_{t-1} += d z + dhg W_hh
//   dW_hh = sum_{b,t} dhg_t^T h_{t-1},  db_hh = sum_{b,t} dhg_t.
template <class F>
void gru_backward(F* dxg, F* dw_hh, F* db_hh, F* dh0, const F* dh, const F* h, const F* saved, const F* w_hh,
                  const F* h0, int64_t B, int64_t T, int64_t H);

}  // namespace rotor::kernels
