#include "rotor/nn/recurrent.h"

#include <cmath>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/views.h"
#include "rotor/kernels/gru.h"
#include "rotor/kernels/lstm.h"
#include "rotor/kernels/rnn.h"
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

namespace {
template <class F>
Var lstm_sequence_typed(const Var& xg, const Var& w_hh, const Var& h0, const Var& c0, DType dt) {
  const Tensor x = xg.value().to(dt).contiguous(), w = w_hh.value().to(dt).contiguous();
  const Tensor h = h0.value().to(dt).contiguous(), c = c0.value().to(dt).contiguous();
  const int64_t B = xg.size(0), T = xg.size(1), H = w_hh.size(1);
  Tensor hc = Tensor::empty({B, T, 2 * H}, dt), gates = Tensor::empty({B, T, 4 * H}, dt);
  kernels::lstm_forward<F>(hc.data<F>(), gates.data<F>(), x.data<F>(), w.data<F>(), h.data<F>(), c.data<F>(), B, T,
                           H);
  return ag::record("lstm_sequence", hc, {xg, w_hh, h0, c0}, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dt).contiguous();
    Tensor dxg = Tensor::empty({B, T, 4 * H}, dt), dw = Tensor::empty({4 * H, H}, dt);
    Tensor dh0 = Tensor::empty({B, H}, dt), dc0 = Tensor::empty({B, H}, dt);
    kernels::lstm_backward<F>(dxg.data<F>(), dw.data<F>(), dh0.data<F>(), dc0.data<F>(), g.data<F>(), hc.data<F>(),
                              gates.data<F>(), w.data<F>(), h.data<F>(), c.data<F>(), B, T, H);
    return std::vector<Tensor>{dxg, dw, dh0, dc0};
  });
}

template <class F>
Var gru_sequence_typed(const Var& xg, const Var& w_hh, const Var& b_hh, const Var& h0, DType dt) {
  const int64_t B = xg.size(0), T = xg.size(1), H = w_hh.size(1);
  const Tensor x = xg.value().to(dt).contiguous(), w = w_hh.value().to(dt).contiguous();
  const Tensor bias = b_hh.defined() ? b_hh.value().to(dt).contiguous() : Tensor::zeros({3 * H}, dt);
  const Tensor h = h0.value().to(dt).contiguous();
  Tensor out = Tensor::empty({B, T, H}, dt), saved = Tensor::empty({B, T, 4 * H}, dt);
  kernels::gru_forward<F>(out.data<F>(), saved.data<F>(), x.data<F>(), w.data<F>(), bias.data<F>(), h.data<F>(), B,
                          T, H);
  std::vector<Var> inputs{xg, w_hh, h0};
  if (b_hh.defined()) inputs.push_back(b_hh);
  const bool has_bias = b_hh.defined();
  return ag::record("gru_sequence", out, inputs, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dt).contiguous();
    Tensor dxg = Tensor::empty({B, T, 3 * H}, dt), dw = Tensor::empty({3 * H, H}, dt);
    Tensor db = Tensor::empty({3 * H}, dt), dh0 = Tensor::empty({B, H}, dt);
    kernels::gru_backward<F>(dxg.data<F>(), dw.data<F>(), db.data<F>(), dh0.data<F>(), g.data<F>(), out.data<F>(),
                             saved.data<F>(), w.data<F>(), h.data<F>(), B, T, H);
    std::vector<Tensor> grads{dxg, dw, dh0};
    if (has_bias) grads.push_back(db);
    return grads;
  });
}

template <class F>
Var rnn_sequence_typed(const Var& xg, const Var& w_hh, const Var& h0, bool relu, DType dt) {
  const int64_t B = xg.size(0), T = xg.size(1), H = w_hh.size(1);
  const Tensor x = xg.value().to(dt).contiguous(), w = w_hh.value().to(dt).contiguous();
  const Tensor h = h0.value().to(dt).contiguous();
  Tensor out = Tensor::empty({B, T, H}, dt);
  kernels::rnn_forward<F>(out.data<F>(), x.data<F>(), w.data<F>(), h.data<F>(), B, T, H, relu);
  return ag::record("rnn_sequence", out, {xg, w_hh, h0}, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dt).contiguous();
    Tensor dxg = Tensor::empty({B, T, H}, dt), dw = Tensor::empty({H, H}, dt), dh0 = Tensor::empty({B, H}, dt);
    kernels::rnn_backward<F>(dxg.data<F>(), dw.data<F>(), dh0.data<F>(), g.data<F>(), out.data<F>(), w.data<F>(),
                             h.data<F>(), B, T, H, relu);
    return std::vector<Tensor>{dxg, dw, dh0};
  });
}
}  // namespace

Var rnn_sequence(const Var& xg, const Var& w_hh, const Var& h0, bool relu) {
  ROTOR_CHECK(w_hh.dim() == 2 && w_hh.size(0) == w_hh.size(1) && xg.dim() == 3 && xg.size(1) > 0 &&
                  xg.size(2) == w_hh.size(0) && h0.shape() == (Shape{xg.size(0), w_hh.size(1)}),
              "rnn_sequence: xg ", shape_str(xg.shape()), ", w_hh ", shape_str(w_hh.shape()), ", h0 ",
              shape_str(h0.shape()), " should be [B, T > 0, H], [H, H], [B, H]");
  const DType dt = xg.dtype();
  ROTOR_CHECK(dt == DType::f32 || dt == DType::f64, "rnn_sequence: wants f32 or f64 inputs, got ", dtype_name(dt));
  return dt == DType::f64 ? rnn_sequence_typed<double>(xg, w_hh, h0, relu, dt)
                          : rnn_sequence_typed<float>(xg, w_hh, h0, relu, dt);
}

Var gru_sequence(const Var& xg, const Var& w_hh, const Var& b_hh, const Var& h0) {
  ROTOR_CHECK(w_hh.dim() == 2 && w_hh.size(0) == 3 * w_hh.size(1) && xg.dim() == 3 && xg.size(1) > 0 &&
                  xg.size(2) == w_hh.size(0) && h0.shape() == (Shape{xg.size(0), w_hh.size(1)}) &&
                  (!b_hh.defined() || b_hh.shape() == (Shape{w_hh.size(0)})),
              "gru_sequence: xg ", shape_str(xg.shape()), ", w_hh ", shape_str(w_hh.shape()), ", b_hh ",
              b_hh.defined() ? shape_str(b_hh.shape()) : std::string("none"), ", h0 ", shape_str(h0.shape()),
              " should be [B, T > 0, 3H], [3H, H], [3H], [B, H]");
  const DType dt = xg.dtype();
  ROTOR_CHECK(dt == DType::f32 || dt == DType::f64, "gru_sequence: wants f32 or f64 inputs, got ", dtype_name(dt));
  return dt == DType::f64 ? gru_sequence_typed<double>(xg, w_hh, b_hh, h0, dt)
                          : gru_sequence_typed<float>(xg, w_hh, b_hh, h0, dt);
}

Var lstm_sequence(const Var& xg, const Var& w_hh, const Var& h0, const Var& c0) {
  ROTOR_CHECK(w_hh.dim() == 2 && w_hh.size(0) == 4 * w_hh.size(1) && xg.dim() == 3 && xg.size(1) > 0 &&
                  xg.size(2) == w_hh.size(0) && h0.shape() == (Shape{xg.size(0), w_hh.size(1)}) &&
                  c0.shape() == h0.shape(),
              "lstm_sequence: xg ", shape_str(xg.shape()), ", w_hh ", shape_str(w_hh.shape()), ", h0 ",
              shape_str(h0.shape()), ", c0 ", shape_str(c0.shape()), " should be [B, T > 0, 4H], [4H, H], [B, H], [B, H]");
  const DType dt = xg.dtype();
  ROTOR_CHECK(dt == DType::f32 || dt == DType::f64, "lstm_sequence: wants f32 or f64 inputs, got ", dtype_name(dt));
  return dt == DType::f64 ? lstm_sequence_typed<double>(xg, w_hh, h0, c0, dt)
                          : lstm_sequence_typed<float>(xg, w_hh, h0, c0, dt);
}

// x: [B, T, in] -> [B, T, H]; h, c: [B, H].
Var recurrent_layer_forward(RecurrentCell cell, const Var& x, const RecurrentWeights& w, Var& h, Var& c) {
  ROTOR_CHECK(x.dim() == 3, "recurrent: input must be [B, T, features], got ", shape_str(x.shape()));
  const int64_t T = x.size(1);
  const Var xg = ag::linear(x, w.w_ih, w.b_ih);  // [B, T, G*H]: every timestep's input projection, one GEMM
  if (cell == RecurrentCell::lstm) {
    const int64_t H = w.w_hh.size(1);
    const Var hc = lstm_sequence(w.b_hh.defined() ? xg + w.b_hh : xg, w.w_hh, h, c);  // [B, T, 2H]
    const Var out = ag::narrow(hc, 2, 0, H);
    h = ag::select(out, 1, T - 1);
    c = ag::select(ag::narrow(hc, 2, H, H), 1, T - 1);
    return out;
  }
  const Var out = cell == RecurrentCell::gru  // [B, T, H]
                      ? gru_sequence(xg, w.w_hh, w.b_hh, h)
                      : rnn_sequence(w.b_hh.defined() ? xg + w.b_hh : xg, w.w_hh, h, cell == RecurrentCell::rnn_relu);
  h = ag::select(out, 1, T - 1);
  return out;
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
