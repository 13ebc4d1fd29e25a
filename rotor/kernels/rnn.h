#pragma once
// A whole Elman RNN layer's recurrence as one kernel (the op nn::rnn_sequence, rotor/nn/recurrent.h). With
// xg: [B, T, H] the input projection with both biases (x W_ih^T + b_ih + b_hh), w_hh: [H, H], h0: [B, H]
// row-major, per step t:  h_t = act(xg_t + h_{t-1} W_hh^T),  act = tanh or relu.
// As kernels/lstm.h: the recurrent product vectorised over the H rows, the activation in the same pass, the
// backward one walk back over t, dW_hh one GEMM at the end.
#include <cstdint>

namespace rotor::kernels {

// -> h: [B, T, H].
template <class F>
void rnn_forward(F* h, const F* xg, const F* w_hh, const F* h0, int64_t B, int64_t T, int64_t H, bool relu);

// The gradients of sum(dh * h), written: dxg [B, T, H] (the pre-activation gradients), dw_hh [H, H], dh0
// [B, H]: dpre_t = (dh_t + dpre_{t+1} W_hh) act'(h_t), act' = 1 - h^2 (tanh) or [h > 0] (relu),
// dW_hh = sum_{b,t} dpre_t^T h_{t-1}.
template <class F>
void rnn_backward(F* dxg, F* dw_hh, F* dh0, const F* dh, const F* h, const F* w_hh, const F* h0, int64_t B,
                  int64_t T, int64_t H, bool relu);

}  // namespace rotor::kernels
