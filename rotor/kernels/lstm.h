#pragma once
// A whole LSTM layer's recurrence as one kernel (the op nn::lstm_sequence, rotor/nn/recurrent.h), PyTorch's
// gate order i, f, g, o. With xg: [B, T, 4H] the input projection with both biases (x W_ih^T + b_ih + b_hh),
// w_hh: [4H, H], h0, c0: [B, H] row-major, per step t:
//   pre = xg_t + h_{t-1} W_hh^T,  i, f, o = sigmoid(pre_i, pre_f, pre_o),  g = tanh(pre_g)
//   c_t = f c_{t-1} + i g,  h_t = o tanh(c_t)
// Per step the recurrent product is 4H x H multiply-adds per batch row, vectorised over the 4H gate rows
// (W_hh transposed once per call) and followed by the gates in the same pass; nothing is put on the tape
// per step. The backward walks t back once; dW_hh is one GEMM over all steps at the end.
#include <cstdint>

namespace rotor::kernels {

// -> hc: [B, T, 2H] (h_t in [0, H), c_t in [H, 2H)), gates: [B, T, 4H] the activations i, f, g, o (kept
// for the backward).
template <class F>
void lstm_forward(F* hc, F* gates, const F* xg, const F* w_hh, const F* h0, const F* c0, int64_t B, int64_t T,
                  int64_t H);

// The gradients of sum(dhc * hc), written: dxg [B, T, 4H] (the pre-activation gradients), dw_hh [4H, H],
// dh0, dc0 [B, H]. Backpropagation through time:
//   dh = dhc_h,t + dpre_{t+1} W_hh,  dc = dhc_c,t + dc_{t+1} f_{t+1} + dh o (1 - tanh^2 c_t)
//   dpre = (dc g i (1 - i), dc c_{t-1} f (1 - f), dc i (1 - g^2), dh tanh(c_t) o (1 - o))
//   dW_hh = sum_{b,t} dpre_t^T h_{t-1}.
template <class F>
void lstm_backward(F* dxg, F* dw_hh, F* dh0, F* dc0, const F* dhc, const F* hc, const F* gates, const F* w_hh,
                   const F* h0, const F* c0, int64_t B, int64_t T, int64_t H);

}  // namespace rotor::kernels
