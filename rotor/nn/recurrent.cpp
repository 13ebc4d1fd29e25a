#include "rotor/nn/recurrent.h"

#include <cmath>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/views.h"
#include "rotor/nn/init.h"

namespace rotor::nn {

namespace ag = rotor::autograd;

RecurrentCell recurrent_cell_from_name(const std::string& name) {
  if (name == "rnn" || name == "rnn_tanh") return RecurrentCell::rnn_tanh;
  if (name == "rnn_relu") return RecurrentCell::rnn_relu;
  if (name == "lstm") return RecurrentCell::lstm;
  if (name == "gru") return RecurrentCell::gru;
  throw Error(cat("unknown recurrent cell '", name, "' (expected rnn, rnn_relu, lstm or gru)"));
}

int64_t recurrent_gate_count(RecurrentCell cell) {
  switch (cell) {
    case RecurrentCell::rnn_tanh:
    case RecurrentCell::rnn_relu: return 1;
    case RecurrentCell::lstm: return 4;
    case RecurrentCell::gru: return 3;
  }
  return 1;
}

// xg: [B, G*H], w_hh: [G*H, H], b_hh: [G*H] or undefined, h, c: [B, H].
void recurrent_cell_step(RecurrentCell cell, const Var& xg, const Var& w_hh, const Var& b_hh, Var& h, Var& c) {
  const int64_t H = w_hh.size(1);
  const Var hg = ag::linear(h, w_hh, b_hh);  // [B, G*H]
  auto gate = [H](const Var& v, int64_t k) { return ag::narrow(v, 1, k * H, H); };  // [B, H]
  switch (cell) {
    case RecurrentCell::rnn_tanh: h = ag::tanh(xg + hg); return;
    case RecurrentCell::rnn_relu: h = ag::relu(xg + hg); return;
    case RecurrentCell::lstm: {
      const Var pre = xg + hg;  // rows i, f, g, o
      const Var i = ag::sigmoid(gate(pre, 0)), f = ag::sigmoid(gate(pre, 1));
      const Var g = ag::tanh(gate(pre, 2)), o = ag::sigmoid(gate(pre, 3));
      c = f * c + i * g;
      h = o * ag::tanh(c);
      return;
    }
    case RecurrentCell::gru: {
      // r and z see xg + hg; n sees xg_n + r * hg_n (b_hn inside the reset product, as PyTorch).
      const Var r = ag::sigmoid(gate(xg, 0) + gate(hg, 0)), z = ag::sigmoid(gate(xg, 1) + gate(hg, 1));
      const Var n = ag::tanh(gate(xg, 2) + r * gate(hg, 2));
      h = (1.0 - z) * n + z * h;
      return;
    }
  }
}

// x: [B, T, in] -> [B, T, H]; h, c: [B, H].
Var recurrent_layer_forward(RecurrentCell cell, const Var& x, const RecurrentWeights& w, Var& h, Var& c) {
  ROTOR_CHECK(x.dim() == 3, "recurrent: input must be [B, T, features], got ", shape_str(x.shape()));
  const int64_t T = x.size(1);
  const Var xg = ag::linear(x, w.w_ih, w.b_ih);  // [B, T, G*H]: every timestep's input projection, one GEMM
  std::vector<Var> outputs;
  outputs.reserve(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    recurrent_cell_step(cell, ag::select(xg, 1, t), w.w_hh, w.b_hh, h, c);
    outputs.push_back(h);
  }
  return ag::stack(outputs, 1);  // [B, T, H]
}

Recurrent::Recurrent(RecurrentCell cell, int64_t input_size, int64_t hidden_size, int64_t layers, bool bias,
                     Rng& rng, DType dtype)
    : cell_(cell), input_(input_size), hidden_(hidden_size) {
  ROTOR_CHECK(input_size > 0 && hidden_size > 0 && layers > 0, "recurrent: sizes must be positive, got input ",
              input_size, ", hidden ", hidden_size, ", layers ", layers);
  const int64_t G = recurrent_gate_count(cell);
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (int64_t l = 0; l < layers; ++l) {
    const int64_t in = l == 0 ? input_size : hidden_size;
    RecurrentWeights w;
    const std::string s = std::to_string(l);
    w.w_ih = add_parameter("weight_ih_l" + s, uniform_tensor({G * hidden_size, in}, -k, k, rng, dtype));
    w.w_hh = add_parameter("weight_hh_l" + s, uniform_tensor({G * hidden_size, hidden_size}, -k, k, rng, dtype));
    if (bias) {
      w.b_ih = add_parameter("bias_ih_l" + s, uniform_tensor({G * hidden_size}, -k, k, rng, dtype));
      w.b_hh = add_parameter("bias_hh_l" + s, uniform_tensor({G * hidden_size}, -k, k, rng, dtype));
    }
    weights_.push_back(w);
  }
}

RecurrentState Recurrent::zero_state(int64_t batch, DType dtype) const {
  RecurrentState s;
  for (size_t l = 0; l < weights_.size(); ++l) {
    s.h.emplace_back(Tensor::zeros({batch, hidden_}, dtype));
    if (cell_ == RecurrentCell::lstm) s.c.emplace_back(Tensor::zeros({batch, hidden_}, dtype));
  }
  return s;
}

void Recurrent::check_state(const RecurrentState& state, int64_t batch) const {
  const size_t L = weights_.size();
  ROTOR_CHECK(state.h.size() == L && state.c.size() == (cell_ == RecurrentCell::lstm ? L : 0),
              "recurrent: state has ", state.h.size(), " h and ", state.c.size(), " c entries for ", L, " layers");
  for (size_t l = 0; l < L; ++l) {
    ROTOR_CHECK(state.h[l].shape() == (Shape{batch, hidden_}), "recurrent: state h of layer ", l, " is ",
                shape_str(state.h[l].shape()), ", expected ", shape_str({batch, hidden_}));
    if (!state.c.empty())
      ROTOR_CHECK(state.c[l].shape() == (Shape{batch, hidden_}), "recurrent: state c of layer ", l, " is ",
                  shape_str(state.c[l].shape()), ", expected ", shape_str({batch, hidden_}));
  }
}

Var Recurrent::forward(const Var& x, RecurrentState* state) const {
  ROTOR_CHECK(x.dim() == 3 && x.size(2) == input_, "recurrent: input ", shape_str(x.shape()), " should be [B, T, ",
              input_, "]");
  RecurrentState s = state && !state->h.empty() ? *state : zero_state(x.size(0), x.dtype());
  check_state(s, x.size(0));
  Var y = x;
  for (size_t l = 0; l < weights_.size(); ++l) {
    Var c = s.c.empty() ? Var() : s.c[l];
    y = recurrent_layer_forward(cell_, y, weights_[l], s.h[l], c);
    if (!s.c.empty()) s.c[l] = c;
  }
  if (state) *state = s;
  return y;
}

Var Recurrent::step(const Var& x, RecurrentState& state) const {
  ROTOR_CHECK(x.dim() == 2 && x.size(1) == input_, "recurrent: step input ", shape_str(x.shape()),
              " should be [B, ", input_, "]");
  if (state.h.empty()) state = zero_state(x.size(0), x.dtype());
  check_state(state, x.size(0));
  Var y = x;
  for (size_t l = 0; l < weights_.size(); ++l) {
    const RecurrentWeights& w = weights_[l];
    Var c = state.c.empty() ? Var() : state.c[l];
    recurrent_cell_step(cell_, ag::linear(y, w.w_ih, w.b_ih), w.w_hh, w.b_hh, state.h[l], c);
    if (!state.c.empty()) state.c[l] = c;
    y = state.h[l];
  }
  return y;
}

}  // namespace rotor::nn
