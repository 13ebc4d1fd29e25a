// Pattern (local / strided / fixed) attention, the fused op (rotor/kernels/sparse_attention.h), against
// dense softmax attention under the pattern's mask in torch (tests/nn/make_mixer_reference.py) and on the
// tape (scaled_dot_product_attention with the mask built from the pattern's definition, at sizes with
// rows of more than 16 keys and widths that are not multiples of 16, f64 and f32); the key lists against
// the definitions and proportional to the pattern; a window covering the context equals full causal
// attention; gradients (gradcheck registry); the same result at 1 and 2 threads; causality; step().
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"
#include "rotor/core/threads.h"
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
    r.add(ag::GradcheckCase{"pattern_attention", n.name,
                            {{{1, 2, 7, 3}, {1, 2, 7, 3}, {1, 2, 7, 2}}, {{2, 1, 5, 1}, {2, 1, 5, 1}, {2, 1, 5, 1}}},
                            [p](const ag::VarList& in) { return pattern_attention(in[0], in[1], in[2], p); }}
              .with_kernels({"sparse_attention_backward"}));
  }
  // Rows of up to 19 keys (a full block of 16 and a ragged one), widths 17 and 18 (two 16-lane chunks).
  const AttentionPattern wide{Kind::local, 19, 1};
  r.add(ag::GradcheckCase{"pattern_attention", "local 19, D 17, Dv 18",
                          {{{1, 1, 23, 17}, {1, 1, 23, 17}, {1, 1, 23, 18}}},
                          [wide](const ag::VarList& in) { return pattern_attention(in[0], in[1], in[2], wide); }}
            .with_kernels({"sparse_attention_backward"}));
}

// Whether query i sees key j, from the definitions in rotor/nn/sparse_attention.h (as the torch reference).
bool in_pattern(const AttentionPattern& p, int64_t i, int64_t j) {
  const int64_t l = p.size;
  if (j > i) return false;
  switch (p.kind) {
    case Kind::local: return i - j < l;
    case Kind::strided: return i - j < l || (i - j) % l == 0;
    case Kind::fixed: return i / l == j / l || j % l >= l - p.summary;
  }
  return false;
}

// [T, T] u8, 1 where the pattern hides the key.
Tensor pattern_mask(const AttentionPattern& p, int64_t T) {
  Tensor m = Tensor::zeros({T, T}, DType::u8);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j) m.data<uint8_t>()[i * T + j] = in_pattern(p, i, j) ? 0 : 1;
  return m;
}

// The output and the gradients of q, k, v of sum(seed * out).
std::vector<Tensor> with_gradients(const std::vector<Var>& in, const Tensor& seed,
                                   const std::function<Var(const std::vector<Var>&)>& fn) {
  const Var y = fn(in);
  std::vector<Tensor> out{y.value()};
  for (const Var& g : ag::grad(ag::sum(ag::mul(y, Var(seed))), in)) out.push_back(g.value());
  return out;
}

const Named kWide[] = {{"local 20", {Kind::local, 20, 1}}, {"strided 9", {Kind::strided, 9, 1}},
                       {"fixed 24, 3", {Kind::fixed, 24, 3}}, {"fixed 5, 5", {Kind::fixed, 5, 5}}};

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

TEST(SparseAttention, KeyListsFollowTheDefinitions) {
  for (const Named& n : kWide)
    for (int64_t t = 0; t < 120; ++t) {
      std::vector<int64_t> want;
      for (int64_t j = 0; j <= t; ++j)
        if (in_pattern(n.pattern, t, j)) want.push_back(j);
      EXPECT_EQ(pattern_keys(n.pattern, t), want) << n.name << " t " << t;
    }
}

// The fused op against masked dense attention on the tape: f64 (so any difference is an error, not
// rounding) and the f32 kernels (AVX-512) against it; then the same bits at 1 and 2 threads.
TEST(SparseAttention, FusedOpEqualsMaskedDenseAttention) {
  const int64_t B = 2, H = 2, T = 70, D = 20, Dv = 17;
  for (const Named& n : kWide) {
    SCOPED_TRACE(n.name);
    Rng rng(84);
    std::vector<Var> in{Var(normal_tensor({B, H, T, D}, 0, 1, rng, DType::f64), true),
                        Var(normal_tensor({B, H, T, D}, 0, 1, rng, DType::f64), true),
                        Var(normal_tensor({B, H, T, Dv}, 0, 1, rng, DType::f64), true)};
    const Tensor seed = normal_tensor({B, H, T, Dv}, 0, 1, rng, DType::f64);
    const AttentionPattern p = n.pattern;
    const Tensor mask = pattern_mask(p, T);
    const auto dense = with_gradients(in, seed, [&](const std::vector<Var>& x) {
      return ag::scaled_dot_product_attention(x[0], x[1], x[2], {false, 0, mask});
    });
    const auto fused = [&](const std::vector<Var>& x) { return pattern_attention(x[0], x[1], x[2], p); };
    const auto f64 = with_gradients(in, seed, fused);
    std::vector<Var> in32;
    for (const Var& x : in) in32.emplace_back(x.value().to(DType::f32), true);
    const auto f32 = with_gradients(in32, seed.to(DType::f32), fused);
    for (size_t i = 0; i < dense.size(); ++i) {
      const double scale = std::max(1.0, max_abs_diff(dense[i], Tensor::zeros(dense[i].shape(), DType::f64)));
      EXPECT_LE(max_abs_diff(f64[i], dense[i]), 1e-12 * scale) << i;
      EXPECT_LE(max_abs_diff(f32[i], dense[i]), 2e-5 * scale) << i;
      EXPECT_GT(max_abs_diff(dense[i], Tensor::zeros(dense[i].shape(), DType::f64)), 0.1) << i;
    }
    const int threads = num_threads();
    set_num_threads(1);
    const auto one = with_gradients(in32, seed.to(DType::f32), fused);
    set_num_threads(2);
    const auto two = with_gradients(in32, seed.to(DType::f32), fused);
    set_num_threads(threads);
    for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(max_abs_diff(one[i], two[i]), 0.0) << i;
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
  EXPECT_THROW(pattern_attention(q, q, Var(Tensor::zeros({1, 3, 5, 4})), {Kind::local, 2, 1}), Error);
  EXPECT_THROW(pattern_attention(q, q, q, {Kind::strided, 0, 1}), Error);
  const Var half(Tensor::zeros({1, 2, 5, 4}, DType::bf16));
  EXPECT_THROW(pattern_attention(half, half, half, {Kind::local, 2, 1}), Error);
}

}  // namespace
}  // namespace rotor::nn
