// The fused causal attention op against the same function composed from basic autograd ops
// (views, expand for grouped-query heads, scaled_dot_product_attention), outputs and gradients.
#include "rotor/autograd/fused_attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/core/rng.h"

namespace rotor::autograd {
namespace {

// qkv: [B, T, (H + 2 KV) Dh] -> [B, T, H Dh] without RoPE, from basic ops.
Var composite_attention(const Var& qkv, int64_t H, int64_t KV) {
  const int64_t B = qkv.size(0), T = qkv.size(1), Dh = qkv.size(2) / (H + 2 * KV), G = H / KV;
  auto heads = [&](int64_t first, int64_t count) {  // -> [B, count, T, Dh]
    return permute(reshape(narrow(qkv, 2, first * Dh, count * Dh), {B, T, count, Dh}), {0, 2, 1, 3});
  };
  auto share = [&](const Var& kv) {  // [B, KV, T, Dh] -> [B, H, T, Dh], query head h uses kv head h / G
    return reshape(expand(unsqueeze(kv, 2), {B, KV, G, T, Dh}), {B, H, T, Dh});
  };
  Var out = scaled_dot_product_attention(heads(0, H), share(heads(H, KV)), share(heads(H + KV, KV)), {true, 0, Tensor()});
  return reshape(permute(out, {0, 2, 1, 3}), {B, T, H * Dh});
}

TEST(FusedAttention, MatchesCompositeOpsWithGroupedQueries) {
  const int64_t B = 2, T = 7, H = 4, KV = 2, Dh = 3;
  Rng rng(3);
  std::vector<double> v(static_cast<size_t>(B * T * (H + 2 * KV) * Dh));
  for (auto& x : v) x = rng.normal();
  for (DType dt : {DType::f64, DType::f32}) {
    Var a(Tensor::from_vector(v, {B, T, (H + 2 * KV) * Dh}).to(dt), true);
    Var b(Tensor::from_vector(v, {B, T, (H + 2 * KV) * Dh}).to(dt), true);
    Var fused = fused_causal_attention(a, {H, KV, false, {}});
    Var composite = composite_attention(b, H, KV);
    ASSERT_EQ(fused.shape(), composite.shape());
    const double tol = dt == DType::f64 ? 1e-12 : 2e-5;
    const auto yf = fused.value().to_double_vector(), yc = composite.value().to_double_vector();
    for (size_t i = 0; i < yf.size(); ++i) ASSERT_NEAR(yf[i], yc[i], tol) << i;
    std::vector<double> w(yf.size());
    for (auto& x : w) x = rng.normal();
    const Tensor seed = Tensor::from_vector(w, fused.shape()).to(dt);
    fused.backward(seed);
    composite.backward(seed);
    const auto ga = a.grad().to_double_vector(), gb = b.grad().to_double_vector();
    for (size_t i = 0; i < ga.size(); ++i) ASSERT_NEAR(ga[i], gb[i], tol * 10) << i;
  }
}

TEST(FusedAttention, RejectsBadShapes) {
  Var qkv(Tensor::zeros({1, 4, 10}), true);
  EXPECT_THROW(fused_causal_attention(qkv, {4, 2, false, {}}), Error);  // 10 is not 8 heads x Dh
  EXPECT_THROW(fused_causal_attention(Var(Tensor::zeros({4, 12})), {2, 1, false, {}}), Error);
}

}  // namespace
}  // namespace rotor::autograd
