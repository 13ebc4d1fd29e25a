// RNN / LSTM / GRU against torch.nn.RNN / LSTM / GRU (tests/nn/make_mixer_reference.py): a PyTorch
// state_dict saved as safetensors loads by name and gives torch's outputs, final states and gradients
// (f32 to 1e-4 relative, f64 to 1e-9); gradients of each cell against finite differences (the gradcheck
// registry); causality; step-by-step decoding equal to the full forward.
#include <gtest/gtest.h>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"
#include "rotor/nn/init.h"
#include "rotor/nn/recurrent.h"
#include "tests/nn/mixer_test_util.h"

namespace rotor::nn {
namespace {

namespace ag = rotor::autograd;
using namespace rotor::nn::testing;

// Gradcheck cases: one layer of each cell over a short sequence; the inputs are x, the four weights and
// the initial state, the output is [out, h_n (, c_n)] flattened.
void register_recurrent_gradchecks(ag::GradcheckRegistry& r) {
  for (RecurrentCell cell : {RecurrentCell::rnn_tanh, RecurrentCell::lstm, RecurrentCell::gru}) {
    const int64_t G = recurrent_gate_count(cell);
    const bool lstm = cell == RecurrentCell::lstm;
    // (batch, steps, input, hidden) = (2, 3, 3, 4) and (1, 4, 2, 3)
    auto shapes = [&](int64_t B, int64_t T, int64_t I, int64_t H) {
      std::vector<Shape> s = {{B, T, I}, {G * H, I}, {G * H, H}, {G * H}, {G * H}, {B, H}};
      if (lstm) s.push_back({B, H});
      return s;
    };
    const char* name = lstm ? "lstm_layer" : cell == RecurrentCell::gru ? "gru_layer" : "rnn_layer";
    r.add({name, "bptt over 3 and 4 steps", {shapes(2, 3, 3, 4), shapes(1, 4, 2, 3)}, [cell, lstm](const ag::VarList& in) {
             Var h = in[5], c = lstm ? in[6] : Var();
             Var out = recurrent_layer_forward(cell, in[0], {in[1], in[2], in[3], in[4]}, h, c);
             std::vector<Var> parts = {ag::flatten(out), ag::flatten(h)};
             if (lstm) parts.push_back(ag::flatten(c));
             return ag::cat(parts, 0);
           }});
  }
  // The LSTM recurrence op alone: xg [B, T, 4H], w_hh [4H, H], h0, c0 [B, H].
  r.add(ag::GradcheckCase{"lstm_sequence", "T 1, 3 and 5",
                          {{{2, 3, 16}, {16, 4}, {2, 4}, {2, 4}}, {{1, 5, 12}, {12, 3}, {1, 3}, {1, 3}},
                           {{3, 1, 8}, {8, 2}, {3, 2}, {3, 2}}},
                          [](const ag::VarList& in) { return lstm_sequence(in[0], in[1], in[2], in[3]); }}
            .with_kernels({"lstm_backward"}));
  // The GRU recurrence op alone: xg [B, T, 3H], w_hh [3H, H], h0 [B, H], b_hh [3H] (and without it).
  r.add(ag::GradcheckCase{"gru_sequence", "T 1, 3 and 5",
                          {{{2, 3, 12}, {12, 4}, {2, 4}, {12}}, {{1, 5, 9}, {9, 3}, {1, 3}, {9}},
                           {{3, 1, 6}, {6, 2}, {3, 2}, {6}}},
                          [](const ag::VarList& in) { return gru_sequence(in[0], in[1], in[3], in[2]); }}
            .with_kernels({"gru_backward"}));
  r.add(ag::GradcheckCase{"gru_sequence", "no b_hh", {{{2, 4, 9}, {9, 3}, {2, 3}}},
                          [](const ag::VarList& in) { return gru_sequence(in[0], in[1], Var(), in[2]); }});
  // The Elman recurrence op alone: xg [B, T, H], w_hh [H, H], h0 [B, H]; tanh, and relu away from its kink.
  r.add(ag::GradcheckCase{"rnn_sequence", "tanh, T 1, 3 and 5",
                          {{{2, 3, 4}, {4, 4}, {2, 4}}, {{1, 5, 3}, {3, 3}, {1, 3}}, {{3, 1, 2}, {2, 2}, {3, 2}}},
                          [](const ag::VarList& in) { return rnn_sequence(in[0], in[1], in[2], false); }}
            .with_kernels({"rnn_backward"}));
  r.add(ag::GradcheckCase{"rnn_sequence", "relu, T 1 and 4", {{{2, 4, 3}, {3, 3}, {2, 3}}, {{1, 1, 2}, {2, 2}, {1, 2}}},
                          [](const ag::VarList& in) { return rnn_sequence(in[0], 0.3 * in[1], in[2], true); },
                          ag::InputDomain::away_from_zero});
  r.add({"rnn_relu_layer", "no bias", {{{2, 3, 3}, {4, 3}, {4, 4}, {2, 4}}, {{1, 4, 2}, {3, 2}, {3, 3}, {1, 3}}},
         [](const ag::VarList& in) {
           Var h = in[3], c;
           return recurrent_layer_forward(RecurrentCell::rnn_relu, in[0], {in[1], in[2], Var(), Var()}, h, c);
         },
         ag::InputDomain::away_from_zero});
}

const bool registered = (register_recurrent_gradchecks(ag::gradcheck_registry()), true);

struct Config {
  const char* name;
  RecurrentCell cell;
  int64_t layers;
  bool bias;
};
const Config kConfigs[] = {{"rnn", RecurrentCell::rnn_tanh, 2, true},
                           {"rnn_relu", RecurrentCell::rnn_relu, 1, false},
                           {"lstm", RecurrentCell::lstm, 2, true},
                           {"gru", RecurrentCell::gru, 2, true},
                           {"gru_nobias", RecurrentCell::gru, 1, false}};

// torch's h_n [L, B, H] as a per-layer state.
std::vector<Var> per_layer(const Tensor& t, DType dtype) {
  std::vector<Var> v;
  for (int64_t l = 0; l < t.size(0); ++l) v.emplace_back(t.select(0, l).to(dtype), true);
  return v;
}

// Per-layer [B, H] values (or their gradients) stacked as torch's [L, B, H].
Tensor stack_layers(const std::vector<Var>& v, bool grads = false) {
  std::vector<Var> d;
  for (const Var& x : v) d.emplace_back(grads ? x.grad() : x.value());
  return ag::stack(d, 0).value();
}

void check_against_torch(const Config& cfg, DType dtype, double rel) {
  SCOPED_TRACE(cat(cfg.name, " ", dtype_name(dtype)));
  const io::TensorMap state = mixer_file(std::string(cfg.name) + "_state");
  const io::TensorMap ref = mixer_file(std::string(cfg.name) + "_ref");
  const Tensor& x_ref = entry(ref, "x");
  Rng rng(7);
  Recurrent m(cfg.cell, x_ref.size(2), entry(ref, "h0").size(2), cfg.layers, cfg.bias, rng, dtype);
  m.load_state_dict(state);  // strict: torch's names and shapes exactly
  const bool lstm = cfg.cell == RecurrentCell::lstm;
  Var x(x_ref.to(dtype), true);
  RecurrentState s;
  s.h = per_layer(entry(ref, "h0"), dtype);
  if (lstm) s.c = per_layer(entry(ref, "c0"), dtype);
  const RecurrentState initial = s;
  Var out = m.forward(x, &s);
  expect_rel_close(out.value(), entry(ref, "out"), rel, "out");
  expect_rel_close(stack_layers(s.h), entry(ref, "h_n"), rel, "h_n");
  if (lstm) expect_rel_close(stack_layers(s.c), entry(ref, "c_n"), rel, "c_n");

  // sum(out * seed_out) + sum(h_n * seed_h) [+ sum(c_n * seed_c)], the seeds of layer l at [l].
  auto weighted = [&](const Var& v, const Tensor& seed) { return ag::sum(v * Var(seed.reshape(v.shape()).to(dtype))); };
  Var loss = weighted(out, entry(ref, "seed_out"));
  for (size_t l = 0; l < s.h.size(); ++l) {
    const auto L = static_cast<int64_t>(l);
    loss = loss + weighted(s.h[l], entry(ref, "seed_h").select(0, L));
    if (lstm) loss = loss + weighted(s.c[l], entry(ref, "seed_c").select(0, L));
  }
  loss.backward();
  expect_rel_close(x.grad(), entry(ref, "grad.x"), rel, "grad x");
  expect_rel_close(stack_layers(initial.h, true), entry(ref, "grad.h0"), rel, "grad h0");
  if (lstm) expect_rel_close(stack_layers(initial.c, true), entry(ref, "grad.c0"), rel, "grad c0");
  for (const auto& [name, p] : m.named_parameters())
    expect_rel_close(p.grad(), entry(ref, "grad." + name), rel, "grad " + name);
}

TEST(Recurrent, MatchesTorchF32) {
  for (const Config& cfg : kConfigs) check_against_torch(cfg, DType::f32, 1e-4);
}

TEST(Recurrent, MatchesTorchF64) {
  for (const Config& cfg : kConfigs) check_against_torch(cfg, DType::f64, 1e-9);
}

// Changing tokens from position t0 on leaves every output before t0 bit-identical.
TEST(Recurrent, IsCausal) {
  for (const Config& cfg : kConfigs) {
    SCOPED_TRACE(cfg.name);
    Rng rng(21);
    Recurrent m(cfg.cell, 3, 4, cfg.layers, cfg.bias, rng);
    expect_causal([&](const Tensor& in) { return m.forward(Var(in)).value(); }, normal_tensor({2, 7, 3}, 0, 1, rng), 4,
                  rng);
  }
}

// step() one token at a time equals forward() at every position, and ends in the same state.
TEST(Recurrent, StepDecodingEqualsForward) {
  for (const Config& cfg : kConfigs) {
    SCOPED_TRACE(cfg.name);
    Rng rng(22);
    Recurrent m(cfg.cell, 3, 5, cfg.layers, cfg.bias, rng);
    const Tensor x = normal_tensor({2, 6, 3}, 0, 1, rng);
    RecurrentState full;
    const Tensor y = m.forward(Var(x), &full).value();
    RecurrentState s;
    for (int64_t t = 0; t < 6; ++t) {
      const Tensor yt = m.step(Var(x.select(1, t).contiguous()), s).value();
      EXPECT_LE(max_abs_diff(yt, y.select(1, t)), 1e-6) << "position " << t;
    }
    for (size_t l = 0; l < s.h.size(); ++l) EXPECT_LE(max_abs_diff(s.h[l].value(), full.h[l].value()), 1e-6);
    EXPECT_EQ(s.c.size(), full.c.size());
  }
}

TEST(Recurrent, RejectsBadInput) {
  Rng rng(23);
  Recurrent m(RecurrentCell::lstm, 3, 4, 2, true, rng);
  EXPECT_THROW(m.forward(Var(Tensor::zeros({2, 5, 4}))), Error);  // wrong feature count
  EXPECT_THROW(m.forward(Var(Tensor::zeros({5, 3}))), Error);     // not [B, T, F]
  RecurrentState bad;
  bad.h = {Var(Tensor::zeros({2, 4}))};  // one layer's state for a two-layer LSTM
  EXPECT_THROW(m.forward(Var(Tensor::zeros({2, 5, 3})), &bad), Error);
  EXPECT_THROW(recurrent_cell_from_name("transformer"), Error);
  EXPECT_THROW(Recurrent(RecurrentCell::gru, 3, 0, 1, true, rng), Error);
  StateDict sd = m.state_dict();
  sd.erase("bias_hh_l1");
  EXPECT_THROW(m.load_state_dict(sd), Error);  // a torch state_dict missing a tensor
  // the fused ops: gate widths that do not match w_hh, an empty sequence, a state of the wrong size
  const Var h0(Tensor::zeros({2, 4})), w4(Tensor::zeros({16, 4})), w3(Tensor::zeros({12, 4}));
  EXPECT_THROW(lstm_sequence(Var(Tensor::zeros({2, 5, 12})), w4, h0, h0), Error);
  EXPECT_THROW(lstm_sequence(Var(Tensor::zeros({2, 0, 16})), w4, h0, h0), Error);
  EXPECT_THROW(gru_sequence(Var(Tensor::zeros({2, 5, 12})), w3, Var(Tensor::zeros({16})), h0), Error);
  EXPECT_THROW(rnn_sequence(Var(Tensor::zeros({2, 5, 4})), Var(Tensor::zeros({4, 4})), Var(Tensor::zeros({3, 4})), false),
               Error);
  EXPECT_NO_THROW(gru_sequence(Var(Tensor::zeros({2, 5, 12})), w3, Var(), h0));
}

}  // namespace
}  // namespace rotor::nn
