// AutogradGpt with every token mixer of `rotor train --mixer`: the single-token Decoder (the mixers'
// step(); softmax attention with T5 / ALiBi biases: a KV cache) gives the full forward's logits position by position, outputs are causal, a saved run loads
// back to the same logits (Performer's features included), and a few optimizer steps lower the loss.
#include "rotor/models/autograd_gpt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "rotor/core/error.h"
#include "rotor/optim/optimizer.h"

namespace rotor::models {
namespace {

struct Case {
  MixerKind kind;
  PositionKind pos;
};

TransformerConfig mixer_config(PositionKind pos) {
  TransformerConfig c;
  c.layers = 2;
  c.dim = 16;
  c.heads = 2;
  c.kv_heads = 2;
  c.ctx = 12;
  c.vocab = 11;
  c.pos = pos;
  return c;
}

// A model with random parameters everywhere (the shared parts from the fused model's gpt2 init).
std::unique_ptr<AutogradGpt> random_model(const Case& k, MixerSpec spec = {}) {
  spec.kind = k.kind;
  spec.window = 4;
  spec.summary = 2;
  spec.chunk = 5;  // forms with chunks: several chunks and a partial one over T = 12
  spec.features = 16;
  const TransformerConfig c = mixer_config(k.pos);
  Rng rng(11);
  auto model = std::make_unique<AutogradGpt>(c, spec, rng);
  TransformerConfig shared = c;  // the fused model has no relative biases
  if (c.pos == PositionKind::t5 || c.pos == PositionKind::alibi) shared.pos = PositionKind::none;
  Transformer fused(shared);
  Rng init(4);
  fused.init_parameters(init, Transformer::Init::torch);
  model->init_from(fused);
  return model;
}

std::vector<int64_t> some_ids(int64_t T, int64_t vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> ids(T);
  for (auto& t : ids) t = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(vocab)));
  return ids;
}

Tensor logits_of(const AutogradGpt& m, const std::vector<int64_t>& ids) {  // [T, vocab]
  autograd::NoGradGuard no_grad;
  const int64_t T = static_cast<int64_t>(ids.size());
  return m.forward(Tensor::from_vector(ids, {1, T})).value().contiguous().reshape({T, m.config().vocab});
}

double max_abs(const Tensor& t) {
  const Tensor c = t.contiguous();
  double m = 0;
  for (int64_t i = 0; i < c.numel(); ++i) m = std::max(m, double(std::abs(c.data<float>()[i])));
  return m;
}

class MixerGpt : public ::testing::TestWithParam<Case> {};

TEST_P(MixerGpt, DecoderEqualsForwardAndIsCausal) {
  const auto model = random_model(GetParam());
  const int64_t T = model->config().ctx, V = model->config().vocab;
  const std::vector<int64_t> ids = some_ids(T, V, 1);
  const Tensor full = logits_of(*model, ids);
  const double scale = max_abs(full);
  ASSERT_GT(scale, 1e-3);
  AutogradGpt::Decoder decoder(*model);
  for (int64_t t = 0; t < T; ++t) {
    const float* step = decoder.step(static_cast<int32_t>(ids[t]));
    for (int64_t v = 0; v < V; ++v)
      ASSERT_NEAR(step[v], full.data<float>()[t * V + v], 1e-4 * scale) << "position " << t << " token " << v;
  }
  EXPECT_EQ(decoder.position(), T);
  // a different future leaves every earlier position's logits as they were, and changes the later ones
  std::vector<int64_t> other = ids;
  const int64_t from = T / 2;
  for (int64_t t = from; t < T; ++t) other[t] = (ids[t] + 3) % V;
  const Tensor changed = logits_of(*model, other);
  double before = 0, after = 0;
  for (int64_t i = 0; i < T * V; ++i) {
    const double d = std::abs(changed.data<float>()[i] - full.data<float>()[i]);
    double& side = i < from * V ? before : after;
    side = std::max(side, d);
  }
  EXPECT_EQ(before, 0.0);
  EXPECT_GT(after, 1e-4 * scale);
  decoder.reset();
  EXPECT_NEAR(decoder.step(static_cast<int32_t>(ids[0]))[0], full.data<float>()[0], 1e-4 * scale);
}

TEST_P(MixerGpt, SavedRunLoadsBack) {
  const auto model = random_model(GetParam());
  // one directory per case and process: ctest runs the cases in parallel (linear_rope beside linear_none)
  const std::string dir = ::testing::TempDir() + "/mixer_gpt_" + mixer_kind_name(GetParam().kind) + "_" +
                          position_kind_name(GetParam().pos) + "_" + std::to_string(::getpid());
  save_autograd_gpt(*model, dir);
  EXPECT_TRUE(is_mixer_run(dir));
  const auto loaded = load_autograd_gpt(dir);
  EXPECT_EQ(loaded->mixer().kind, GetParam().kind);
  const std::vector<int64_t> ids = some_ids(9, model->config().vocab, 2);
  const Tensor a = logits_of(*model, ids), b = logits_of(*loaded, ids);
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]);
  std::filesystem::remove_all(dir);
}

TEST_P(MixerGpt, TrainingLowersTheLoss) {
  auto model = random_model(GetParam());
  optim::Adam opt(model->parameters(), 1e-2);
  const int64_t T = model->config().ctx, V = model->config().vocab;
  std::vector<int64_t> ids = some_ids(2 * T, V, 3), targets(2 * T);
  for (int64_t i = 0; i < 2 * T; ++i) targets[i] = (ids[i] * 3 + 1) % V;  // a function of the current token
  const Tensor x = Tensor::from_vector(ids, {2, T}), y = Tensor::from_vector(targets, {2, T});
  const double first = model->loss(x, y).item();
  for (int s = 0; s < 40; ++s) {
    opt.zero_grad();
    model->loss(x, y).backward();
    opt.step();
  }
  EXPECT_LT(model->loss(x, y).item(), 0.5 * first);
}

// --checkpoint-activations on the tape: segments of 1 and 2 blocks as autograd::checkpoint nodes give
// the loss and every parameter gradient of the plain forward, bit for bit (the recomputation runs the same
// ops on the same values).
TEST_P(MixerGpt, CheckpointedGradientsEqual) {
  auto model = random_model(GetParam());
  const int64_t T = model->config().ctx, V = model->config().vocab;
  std::vector<int64_t> ids = some_ids(2 * T, V, 5), targets = some_ids(2 * T, V, 6);
  const Tensor x = Tensor::from_vector(ids, {2, T}), y = Tensor::from_vector(targets, {2, T});
  auto run = [&](int64_t every) {
    model->set_checkpoint_every(every);
    model->zero_grad();
    autograd::Var loss = model->loss(x, y);
    loss.backward();
    std::vector<std::vector<float>> grads;
    for (const auto& [name, p] : model->named_parameters()) {
      const Tensor g = p.grad().contiguous();
      grads.emplace_back(g.data<float>(), g.data<float>() + g.numel());
    }
    return std::make_pair(loss.item(), grads);
  };
  const auto plain = run(0);
  double norm = 0;
  for (const auto& g : plain.second)
    for (float v : g) norm += double(v) * v;
  ASSERT_GT(norm, 0);
  for (int64_t every : {1, 2, 3}) {
    SCOPED_TRACE(::testing::Message() << "every " << every);
    const auto ck = run(every);
    EXPECT_EQ(ck.first, plain.first);
    ASSERT_EQ(ck.second.size(), plain.second.size());
    for (size_t i = 0; i < plain.second.size(); ++i) ASSERT_EQ(ck.second[i], plain.second[i]) << "parameter " << i;
  }
  EXPECT_THROW(model->set_checkpoint_every(-1), Error);
}

INSTANTIATE_TEST_SUITE_P(
    Mixers, MixerGpt,
    ::testing::Values(Case{MixerKind::rnn, PositionKind::none}, Case{MixerKind::lstm, PositionKind::none},
                      Case{MixerKind::gru, PositionKind::learned}, Case{MixerKind::linear, PositionKind::rope},
                      Case{MixerKind::linear, PositionKind::none}, Case{MixerKind::performer, PositionKind::learned},
                      Case{MixerKind::flash, PositionKind::sinusoidal}, Case{MixerKind::local, PositionKind::learned},
                      Case{MixerKind::strided, PositionKind::learned}, Case{MixerKind::fixed, PositionKind::learned},
                      Case{MixerKind::s4d, PositionKind::none}, Case{MixerKind::mamba, PositionKind::none},
                      Case{MixerKind::softmax, PositionKind::t5}, Case{MixerKind::softmax, PositionKind::alibi}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::string(mixer_kind_name(info.param.kind)) + "_" + position_kind_name(info.param.pos);
    });

TEST(MixerGpt, PerformerRedrawChangesTheFeaturesAndTheSavedOnesComeBack) {
  auto model = random_model({MixerKind::performer, PositionKind::learned});
  const std::vector<int64_t> ids = some_ids(8, model->config().vocab, 4);
  const Tensor before = logits_of(*model, ids);
  Rng rng(99);
  model->redraw(rng);
  const Tensor after = logits_of(*model, ids);
  double diff = 0;
  for (int64_t i = 0; i < before.numel(); ++i) diff = std::max(diff, double(std::abs(after.data<float>()[i] - before.data<float>()[i])));
  EXPECT_GT(diff, 1e-5);
  const std::string dir = ::testing::TempDir() + "/mixer_gpt_redrawn";
  save_autograd_gpt(*model, dir);
  const Tensor loaded = logits_of(*load_autograd_gpt(dir), ids);
  for (int64_t i = 0; i < after.numel(); ++i) ASSERT_EQ(loaded.data<float>()[i], after.data<float>()[i]);
  std::filesystem::remove_all(dir);
}

TEST(MixerGpt, RejectsBadSettings) {
  EXPECT_THROW(mixer_kind_from_name("transformer"), Error);
  EXPECT_EQ(mixer_kind_from_name("attention"), MixerKind::softmax);
  MixerSpec s;
  s.kind = MixerKind::local;
  s.window = 13;
  EXPECT_THROW(s.validate(12), Error);  // wider than the context
  s.window = 12;
  EXPECT_NO_THROW(s.validate(12));
  s.kind = MixerKind::performer;
  s.features = 0;
  EXPECT_THROW(s.validate(12), Error);
  Rng rng(1);
  s.kind = MixerKind::gru;
  EXPECT_THROW(AutogradGpt(mixer_config(PositionKind::rope), s, rng), Error);  // RoPE does not apply to a GRU
  AutogradGpt softmax(mixer_config(PositionKind::rope));
  EXPECT_THROW(AutogradGpt::Decoder{softmax}, Error);  // the fused model decodes softmax attention
  s.kind = MixerKind::linear;
  EXPECT_THROW(AutogradGpt(mixer_config(PositionKind::alibi), s, rng), Error);  // biases: softmax only
  TransformerConfig gqa = mixer_config(PositionKind::t5);
  gqa.kv_heads = 1;
  EXPECT_THROW(AutogradGpt{gqa}, Error);
  EXPECT_THROW(Transformer{mixer_config(PositionKind::t5)}, Error);  // not in the fused model
}

}  // namespace
}  // namespace rotor::models
