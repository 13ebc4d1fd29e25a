// Pattern (local / strided / fixed) attention against dense softmax attention under the pattern's mask in
// torch (tests/nn/make_mixer_reference.py); gathered keys proportional to the pattern; a window covering
// the context equals full causal attention; gradients (gradcheck registry); causality; step() decoding.
#include <gtest/gtest.h>

#include <algorithm>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"
#include "rotor/nn/init.h"
#include "rotor/nn/sparse_attention.h"
#include "tests/nn/mixer_test_util.h"

namespace rotor::nn {
namespace {

namespace ag = rotor::autograd;
using namespace rotor::nn::testing;
using Kind = AttentionPattern::Kind;

struct Named {
  const char* name;
  AttentionPattern pattern;
};
const Named kPatterns[] = {{"local", {Kind::local, 3, 1}}, {"strided", {Kind::strided, 3, 1}},
                           {"fixed", {Kind::fixed, 4, 2}}};

void register_sparse_attention_gradchecks(ag::GradcheckRegistry& r) {
  for (const Named& n : kPatterns) {
    const AttentionPattern p = n.pattern;
    r.add({"pattern_attention", n.name, {{{1, 2, 7, 3}, {1, 2, 7, 3}, {1, 2, 7, 2}}},
           [p](const ag::VarList& in) { return pattern_attention(in[0], in[1], in[2], p); }});
  }
}

const bool registered = (register_sparse_attention_gradchecks(ag::gradcheck_registry()), true);

TEST(SparseAttention, MatchesTorchReference) {
  for (const Named& n : kPatterns)
    for (DType dtype : {DType::f32, DType::f64}) {
      SCOPED_TRACE(cat(n.name, " ", dtype_name(dtype)));
      const AttentionPattern p = n.pattern;
      expect_function_matches_reference(
          n.name, {"q", "k", "v"}, [p](const auto& in) { return pattern_attention(in[0], in[1], in[2], p); }, dtype,
          dtype == DType::f32 ? 1e-4 : 1e-10);
    }
}

// The work per query is the pattern's size: W for local, about l + t/l for strided, l + c*t/l for fixed.
TEST(SparseAttention, PatternSizes) {
  for (int64_t t : {0, 5, 100, 1000}) {
    EXPECT_EQ(static_cast<int64_t>(pattern_keys({Kind::local, 16, 1}, t).size()), std::min<int64_t>(t + 1, 16));
    const auto strided = pattern_keys({Kind::strided, 32, 1}, t);
    EXPECT_LE(static_cast<int64_t>(strided.size()), 32 + t / 32 + 1);
    EXPECT_TRUE(std::is_sorted(strided.begin(), strided.end()));
    EXPECT_LE(static_cast<int64_t>(pattern_keys({Kind::fixed, 32, 2}, t).size()), 32 + 2 * (t / 32));
    EXPECT_EQ(pattern_keys({Kind::fixed, 32, 2}, t).back(), t);
  }
}

TEST(SparseAttention, FullWindowIsCausalSoftmaxAttention) {
  Rng rng(81);
  const Tensor q = normal_tensor({2, 2, 9, 4}, 0, 1, rng, DType::f64), k = normal_tensor({2, 2, 9, 4}, 0, 1, rng, DType::f64);
  const Tensor v = normal_tensor({2, 2, 9, 3}, 0, 1, rng, DType::f64);
  const Tensor exact = ag::scaled_dot_product_attention(Var(q), Var(k), Var(v), {true, 0, Tensor()}).value();
  EXPECT_LE(max_abs_diff(pattern_attention(Var(q), Var(k), Var(v), {Kind::local, 9, 1}).value(), exact), 1e-12);
  EXPECT_GT(max_abs_diff(pattern_attention(Var(q), Var(k), Var(v), {Kind::local, 4, 1}).value(), exact), 1e-3);
}

TEST(SparseAttention, ModuleIsCausalAndDecodesStepByStep) {
  for (const Named& n : kPatterns) {
    SCOPED_TRACE(n.name);
    Rng rng(82);
    SparseAttention m(8, 2, n.pattern, rng);
    const Tensor x = normal_tensor({2, 11, 8}, 0, 1, rng);
    expect_causal([&](const Tensor& in) { return m.forward(Var(in)).value(); }, x, 6, rng);
    const Tensor y = m.forward(Var(x)).value();
    PatternAttentionState s;
    for (int64_t t = 0; t < 11; ++t)
      EXPECT_LE(max_abs_diff(m.step(Var(x.select(1, t).contiguous()), s).value(), y.select(1, t)), 1e-5) << t;
    if (n.pattern.kind == Kind::local) {
      EXPECT_EQ(static_cast<int64_t>(s.k.size()), n.pattern.size);  // the cache holds the window only
    }
  }
}

TEST(SparseAttention, RejectsBadInput) {
  Rng rng(83);
  EXPECT_THROW(SparseAttention(8, 2, {Kind::local, 0, 1}, rng), Error);
  EXPECT_THROW(SparseAttention(8, 2, {Kind::fixed, 4, 5}, rng), Error);
  EXPECT_THROW(SparseAttention(8, 3, {Kind::local, 4, 1}, rng), Error);
  const Var q(Tensor::zeros({1, 2, 5, 4}));
  EXPECT_THROW(pattern_attention(q, Var(Tensor::zeros({1, 2, 4, 4})), q, {Kind::local, 2, 1}), Error);
}

}  // namespace
}  // namespace rotor::nn
