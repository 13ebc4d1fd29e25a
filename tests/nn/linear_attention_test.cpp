// Causal linear attention (elu + 1 features, optional RoPE as RoFormer eq. 19): both forms against the
// explicit quadratic sums written in PyTorch (tests/nn/make_mixer_reference.py), the two forms against each
// other, gradients against finite differences (gradcheck registry), causality, and step() decoding.
#include <gtest/gtest.h>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"
#include "rotor/nn/init.h"
#include "rotor/nn/linear_attention.h"
#include "tests/nn/mixer_test_util.h"

namespace rotor::nn {
namespace {

namespace ag = rotor::autograd;
using namespace rotor::nn::testing;

void register_linear_attention_gradchecks(ag::GradcheckRegistry& r) {
  const std::vector<std::vector<Shape>> qkv = {{{1, 2, 5, 4}, {1, 2, 5, 4}, {1, 2, 5, 3}},
                                                {{2, 1, 4, 2}, {2, 1, 4, 2}, {2, 1, 4, 3}}};
  for (bool rope : {false, true}) {
    const LinearAttentionOptions o{rope, 10000.0};
    const std::string label = rope ? "rope" : "plain";
    r.add({"linear_attention_recurrent", label, qkv,
           [o](const ag::VarList& in) { return causal_linear_attention_recurrent(in[0], in[1], in[2], o); }});
    r.add({"linear_attention_chunked", label + ", chunks of 2 (ragged end)", qkv,
           [o](const ag::VarList& in) { return causal_linear_attention_chunked(in[0], in[1], in[2], 2, o); }});
  }
  r.add({"elu_plus_one", "both sides of 0", {{{3, 4}}, {{5}}}, [](const ag::VarList& in) { return elu_plus_one(in[0]); },
         ag::InputDomain::away_from_zero});
}

const bool registered = (register_linear_attention_gradchecks(ag::gradcheck_registry()), true);

void check_against_torch(const std::string& name, bool rope, DType dtype, double rel) {
  const LinearAttentionOptions o{rope, 10000.0};
  for (int64_t chunk : {0, 4, 16}) {  // 0: the recurrent form
    SCOPED_TRACE(cat(name, " ", dtype_name(dtype), " chunk ", chunk));
    expect_function_matches_reference(name, {"q", "k", "v"}, [&](const auto& in) {
      return chunk == 0 ? causal_linear_attention_recurrent(in[0], in[1], in[2], o)
                        : causal_linear_attention_chunked(in[0], in[1], in[2], chunk, o);
    }, dtype, rel);
  }
}

TEST(LinearAttention, MatchesTorchReference) {
  for (bool rope : {false, true}) {
    const std::string name = rope ? "linear_rope" : "linear";
    check_against_torch(name, rope, DType::f32, 1e-4);
    check_against_torch(name, rope, DType::f64, 1e-10);
  }
}

// The prefix-sum and chunked forms agree to rounding (f64) for every chunk size, including 1 and > T.
TEST(LinearAttention, RecurrentAndChunkedFormsAgree) {
  Rng rng(31);
  const Tensor q = normal_tensor({2, 3, 13, 6}, 0, 1, rng, DType::f64), k = normal_tensor({2, 3, 13, 6}, 0, 1, rng, DType::f64);
  const Tensor v = normal_tensor({2, 3, 13, 5}, 0, 1, rng, DType::f64);
  for (bool rope : {false, true}) {
    const LinearAttentionOptions o{rope, 10000.0};
    const Tensor a = causal_linear_attention_recurrent(Var(q), Var(k), Var(v), o).value();
    for (int64_t chunk : {1, 3, 5, 13, 20})
      EXPECT_LE(max_abs_diff(a, causal_linear_attention_chunked(Var(q), Var(k), Var(v), chunk, o).value()), 1e-12)
          << "rope " << rope << " chunk " << chunk;
  }
}

// RoPE changes the result (the option is not ignored) but not the denominator's positivity: outputs stay finite.
TEST(LinearAttention, RopeMatters) {
  Rng rng(32);
  const Tensor q = normal_tensor({1, 1, 8, 4}, 0, 1, rng), k = normal_tensor({1, 1, 8, 4}, 0, 1, rng);
  const Tensor v = normal_tensor({1, 1, 8, 2}, 0, 1, rng);
  const Tensor plain = causal_linear_attention_chunked(Var(q), Var(k), Var(v), 4).value();
  const Tensor rotated = causal_linear_attention_chunked(Var(q), Var(k), Var(v), 4, {true, 10000.0}).value();
  EXPECT_EQ(max_abs_diff(plain.narrow(2, 0, 1), rotated.narrow(2, 0, 1)), 0.0);  // position 0: no rotation
  EXPECT_GT(max_abs_diff(plain, rotated), 1e-3);
}

TEST(LinearAttention, ModuleIsCausalAndDecodesStepByStep) {
  for (bool rope : {false, true}) {
    SCOPED_TRACE(rope ? "rope" : "plain");
    Rng rng(33);
    LinearAttention m(8, 2, {rope, 10000.0}, rng, 3);
    const Tensor x = normal_tensor({2, 7, 8}, 0, 1, rng);
    for (auto form : {LinearAttention::Form::recurrent, LinearAttention::Form::chunked})
      expect_causal([&](const Tensor& in) { return m.forward(Var(in), form).value(); }, x, 4, rng);
    const Tensor y = m.forward(Var(x)).value();
    LinearAttentionState s;
    for (int64_t t = 0; t < 7; ++t)
      EXPECT_LE(max_abs_diff(m.step(Var(x.select(1, t).contiguous()), s).value(), y.select(1, t)), 1e-5)
          << "position " << t;
    EXPECT_EQ(s.position, 7);
  }
}

TEST(LinearAttention, RejectsBadInput) {
  Rng rng(34);
  EXPECT_THROW(LinearAttention(8, 3, {}, rng), Error);            // width not divisible by heads
  EXPECT_THROW(LinearAttention(6, 2, {true, 10000.0}, rng), Error);  // odd head width with RoPE
  EXPECT_THROW(LinearAttention(8, 2, {}, rng, 0), Error);         // chunk 0
  const Var q(Tensor::zeros({1, 2, 5, 4})), v(Tensor::zeros({1, 2, 5, 3}));
  EXPECT_THROW(causal_linear_attention_chunked(q, Var(Tensor::zeros({1, 2, 4, 4})), v, 2), Error);
  EXPECT_THROW(causal_linear_attention_chunked(q, q, Var(Tensor::zeros({1, 2, 4, 3})), 2), Error);
  EXPECT_THROW(causal_linear_attention_recurrent(Var(Tensor::zeros({2, 5, 4})), q, v), Error);
}

}  // namespace
}  // namespace rotor::nn
