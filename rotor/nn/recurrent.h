#pragma once
// Recurrent networks trained by backpropagation through time: Elman RNN (tanh or relu), LSTM and GRU,
// multi-layer, with PyTorch's parameter names, gate layouts and equations, so a torch.nn.RNN/LSTM/GRU
// state_dict loads as is (batch_first = true):
//   weight_ih_l{k}: [G*H, in_k], weight_hh_l{k}: [G*H, H], bias_ih_l{k}, bias_hh_l{k}: [G*H]
// with G = 1 (rnn), 4 (lstm, gate rows i, f, g, o), 3 (gru, gate rows r, z, n); in_0 = input size,
// in_k = H above. Per step, with xg = x W_ih^T + b_ih and hg = h W_hh^T + b_hh split into gates:
//   rnn:  h' = tanh(xg + hg)                    (relu for rnn_relu)
//   lstm: i, f, o = sigmoid(.), g = tanh(.);  c' = f*c + i*g;  h' = o * tanh(c')
//   gru:  r, z = sigmoid(xg_rz + hg_rz);  n = tanh(xg_n + r * hg_n);  h' = (1 - z)*n + z*h
// The input projections of all timesteps are one GEMM per layer. Each cell's recurrence is then one op
// (rnn_sequence, lstm_sequence, gru_sequence; kernels rotor/kernels/rnn.h, lstm.h, gru.h: the recurrent
// product, gates and BPTT over the whole sequence fused, nothing on the tape per step). step() (decoding)
// runs recurrent_cell_step, the same equations as tape ops.
// Decoding: step() advances a RecurrentState one token at a time and equals forward() position by
// position; the state is O(layers * B * H), independent of the sequence length.
#include <memory>
#include <string>
#include <vector>

#include "rotor/core/rng.h"
#include "rotor/nn/module.h"

namespace rotor::nn {

enum class RecurrentCell { rnn_tanh, rnn_relu, lstm, gru };
// "rnn" (tanh), "rnn_relu", "lstm", "gru".
RecurrentCell recurrent_cell_from_name(const std::string& name);
int64_t recurrent_gate_count(RecurrentCell cell);  // G: 1, 1, 4, 3

// One layer's parameters; the biases may be undefined (bias = false).
struct RecurrentWeights {
  Var w_ih, w_hh, b_ih, b_hh;
};

// One step of a cell. xg: [B, G*H] (the input projection x W_ih^T + b_ih), h, c: [B, H] (c: LSTM only,
// undefined otherwise) -> h (and c) replaced by the next state.
void recurrent_cell_step(RecurrentCell cell, const Var& xg, const Var& w_hh, const Var& b_hh, Var& h, Var& c);

// The Elman recurrence over a whole sequence as one op. xg: [B, T, H] (x W_ih^T + b_ih + b_hh), w_hh:
// [H, H], h0: [B, H] -> [B, T, H], tanh or relu (f32 or f64, differentiable in all).
Var rnn_sequence(const Var& xg, const Var& w_hh, const Var& h0, bool relu);

// The LSTM recurrence over a whole sequence as one op. xg: [B, T, 4H] (x W_ih^T + b_ih + b_hh), w_hh:
// [4H, H], h0, c0: [B, H] -> [B, T, 2H]: h_t in [0, H), c_t in [H, 2H) (f32 or f64, differentiable in all).
Var lstm_sequence(const Var& xg, const Var& w_hh, const Var& h0, const Var& c0);

// The GRU recurrence over a whole sequence as one op. xg: [B, T, 3H] (x W_ih^T + b_ih), w_hh: [3H, H],
// b_hh: [3H] (undefined: no bias), h0: [B, H] -> [B, T, H] (f32 or f64, differentiable in all).
Var gru_sequence(const Var& xg, const Var& w_hh, const Var& b_hh, const Var& h0);

// One layer over a whole sequence. x: [B, T, in] -> [B, T, H]; h, c: [B, H] initial state in, final out.
Var recurrent_layer_forward(RecurrentCell cell, const Var& x, const RecurrentWeights& w, Var& h, Var& c);

// Per layer h (and c for LSTM): [B, H] each.
struct RecurrentState {
  std::vector<Var> h, c;
};

class Recurrent : public Module {
 public:
  // Initialised as PyTorch does: every parameter U(-1/sqrt(H), 1/sqrt(H)).
  Recurrent(RecurrentCell cell, int64_t input_size, int64_t hidden_size, int64_t layers, bool bias, Rng& rng,
            DType dtype = DType::f32);

  // x: [B, T, input] -> [B, T, hidden] (the last layer's h at every step). `state`: the initial state
  // when it holds one (zeros when null or empty); replaced by the final state when given.
  Var forward(const Var& x, RecurrentState* state = nullptr) const;
  // x: [B, input] -> [B, hidden]: one token through every layer, advancing `state` (zeros when empty).
  Var step(const Var& x, RecurrentState& state) const;

  RecurrentState zero_state(int64_t batch, DType dtype) const;
  RecurrentCell cell() const { return cell_; }
  int64_t hidden_size() const { return hidden_; }
  int64_t layers() const { return static_cast<int64_t>(weights_.size()); }

 private:
  void check_state(const RecurrentState& state, int64_t batch) const;

  RecurrentCell cell_;
  int64_t input_, hidden_;
  std::vector<RecurrentWeights> weights_;
};

}  // namespace rotor::nn
