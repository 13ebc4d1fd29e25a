// The autograd GPT (rotor/models/autograd_gpt.h) against the fused Transformer with the same
// parameters: logits, loss and every parameter's gradient, in f32, over several architectures.
#include "rotor/models/autograd_gpt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "rotor/autograd/losses.h"
#include "rotor/optim/optimizer.h"

namespace rotor::models {
namespace {

struct Batch {
  std::vector<int32_t> ids, targets;
  Tensor ids_t, targets_t;
};

Batch make_batch(int64_t B, int64_t T, int64_t vocab, uint64_t seed) {
  Rng rng(seed);
  Batch b;
  for (int64_t i = 0; i < B * T; ++i) {
    b.ids.push_back(static_cast<int32_t>(rng.uniform_int(static_cast<uint64_t>(vocab))));
    b.targets.push_back(static_cast<int32_t>(rng.uniform_int(static_cast<uint64_t>(vocab))));
  }
  b.ids_t = Tensor::from_vector(b.ids, {B, T});
  b.targets_t = Tensor::from_vector(b.targets, {B, T});
  return b;
}

// max |a - b| / max(1e-3, max |b|)
double scaled_diff(const float* a, const float* b, int64_t n) {
  double diff = 0, scale = 1e-3;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, double(std::abs(a[i] - b[i])));
    scale = std::max(scale, double(std::abs(b[i])));
  }
  return diff / scale;
}

TransformerConfig small_config(int64_t layers, int64_t dim, int64_t heads, int64_t kv_heads, int64_t ctx, int64_t vocab) {
  TransformerConfig c;
  c.layers = layers;
  c.dim = dim;
  c.heads = heads;
  c.kv_heads = kv_heads;
  c.ctx = ctx;
  c.vocab = vocab;
  return c;
}

void expect_equal_to_fused(const TransformerConfig& c, Transformer::Init init) {
  Transformer fused(c);
  Rng rng(3);
  fused.init_parameters(rng, init);
  AutogradGpt model(c);
  model.load_from(fused);
  const int64_t B = 2, T = c.ctx - 1;
  const Batch batch = make_batch(B, T, c.vocab, 11);

  fused.zero_grad();
  const double fused_loss = fused.forward(batch.ids.data(), batch.targets.data(), B, T);
  const std::vector<float> fused_logits(fused.logits(), fused.logits() + B * T * c.vocab);
  fused.forward_backward(batch.ids.data(), batch.targets.data(), B, T);

  const autograd::Var logits = model.forward(batch.ids_t);
  ASSERT_EQ(logits.shape(), (Shape{B, T, c.vocab}));
  EXPECT_LE(scaled_diff(logits.value().data<float>(), fused_logits.data(), B * T * c.vocab), 2e-6);
  const autograd::Var loss = autograd::cross_entropy(logits, batch.targets_t);
  EXPECT_NEAR(loss.item(), fused_loss, 1e-5 * std::abs(fused_loss));
  loss.backward();
  const auto named = model.named_parameters();
  ASSERT_EQ(named.size(), fused.parameters().size());
  for (const auto& [name, v] : named) {
    const ParameterInfo& p = fused.parameter(name);
    ASSERT_EQ(v.shape(), p.shape) << name;
    ASSERT_TRUE(v.grad().defined()) << name;
    EXPECT_LE(scaled_diff(v.grad().data<float>(), fused.grads() + p.offset, p.numel), 2e-5) << name;
  }
}

TEST(AutogradGpt, MatchesFusedTransformerDefaultArchitecture) {  // the demo's: LayerNorm, GELU, RoPE, biases
  const TransformerConfig c = small_config(2, 32, 4, 4, 12, 40);
  expect_equal_to_fused(c, Transformer::Init::torch);
}

TEST(AutogradGpt, MatchesFusedTransformerLlamaStyle) {  // RMSNorm, SwiGLU, GQA, no biases, tied head
  TransformerConfig c = small_config(2, 32, 4, 2, 10, 30);
  c.norm = NormKind::rmsnorm;
  c.mlp = MlpKind::swiglu;
  c.bias = false;
  c.tied_head = true;
  expect_equal_to_fused(c, Transformer::Init::gpt2);
}

TEST(AutogradGpt, MatchesFusedTransformerLearnedPositionsGeluTanh) {
  TransformerConfig c = small_config(1, 16, 2, 2, 9, 20);
  c.pos = PositionKind::learned;
  c.mlp = MlpKind::gelu_tanh;
  expect_equal_to_fused(c, Transformer::Init::gpt2);
}

TEST(AutogradGpt, TrainsWithTheOptimizer) {
  const TransformerConfig c = small_config(1, 16, 2, 2, 8, 16);
  Transformer fused(c);
  Rng rng(5);
  fused.init_parameters(rng);
  AutogradGpt model(c);
  model.load_from(fused);
  optim::Adam opt(model.parameters(), 3e-3);
  const Batch batch = make_batch(2, 8, c.vocab, 2);
  const double first = model.loss(batch.ids_t, batch.targets_t).item();
  for (int s = 0; s < 30; ++s) {
    opt.zero_grad();
    model.loss(batch.ids_t, batch.targets_t).backward();
    opt.step();
  }
  EXPECT_LT(model.loss(batch.ids_t, batch.targets_t).item(), 0.8 * first);  // memorises one batch
  EXPECT_THROW(model.forward(make_batch(1, 9, c.vocab, 1).ids_t), Error);   // longer than ctx
}

}  // namespace
}  // namespace rotor::models
