// BERT's masking rule (rotor/models/masked_lm.h): proportions on a large sample, and the loss only at the
// chosen positions. The bidirectional encoder and its masked-LM loss against an independent float64 PyTorch
// implementation (tests/models/make_transformer_reference.py, case encoder_mlm): logits, loss and every
// parameter gradient; and that every position sees the tokens after it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/io/safetensors.h"
#include "rotor/models/autograd_gpt.h"
#include "rotor/models/lm_trainer.h"
#include "rotor/models/masked_lm.h"

namespace rotor::models {
namespace {

TEST(MaskedLm, ProportionsOfChosenMaskedRandomAndKept) {
  const int64_t B = 200, T = 1000, mask_id = 256;
  std::vector<int64_t> ids(size_t(B * T));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int64_t((i * 7919) % size_t(mask_id));
  Rng rng(3);
  const MaskedBatch m = mask_tokens(Tensor::from_vector(ids, {B, T}), mask_id, kMaskRate, rng);
  const int64_t* in = m.inputs.data<int64_t>();
  const int64_t* tg = m.targets.data<int64_t>();
  int64_t chosen = 0, masked = 0, kept = 0, replaced = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (tg[i] == kIgnoredTarget) {
      EXPECT_EQ(in[i], ids[i]) << "an unchosen position changed at " << i;
      continue;
    }
    ++chosen;
    EXPECT_EQ(tg[i], ids[i]);
    if (in[i] == mask_id) ++masked;
    else if (in[i] == ids[i]) ++kept;
    else {
      ++replaced;
      EXPECT_TRUE(in[i] >= 0 && in[i] < mask_id);
    }
  }
  const double n = double(B * T);
  // binomial standard errors: 0.15 of 200000 -> sd 0.0008; 0.8 / 0.1 of ~30000 -> sd 0.0023 / 0.0017
  EXPECT_NEAR(double(chosen) / n, 0.15, 0.004);
  EXPECT_NEAR(double(masked) / double(chosen), 0.8, 0.01);
  // a random replacement equals the original 1 time in 256, so "kept" holds 0.1 + 0.1/256
  EXPECT_NEAR(double(kept) / double(chosen), 0.1 + 0.1 / 256, 0.008);
  EXPECT_NEAR(double(replaced) / double(chosen), 0.1 - 0.1 / 256, 0.008);
}

TEST(MaskedLm, SameSeedSameMasksAndAtLeastOneChosen) {
  const std::vector<int64_t> ids = {1, 2, 3};
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Rng a(seed), b(seed);
    const MaskedBatch x = mask_tokens(Tensor::from_vector(ids, {1, 3}), 10, 0.01, a);
    const MaskedBatch y = mask_tokens(Tensor::from_vector(ids, {1, 3}), 10, 0.01, b);
    int64_t chosen = 0;
    for (int64_t i = 0; i < 3; ++i) {
      chosen += x.targets.data<int64_t>()[i] != kIgnoredTarget;
      EXPECT_EQ(x.inputs.data<int64_t>()[i], y.inputs.data<int64_t>()[i]);
    }
    EXPECT_GE(chosen, 1);
  }
}

TEST(MaskedLm, RejectsBadInput) {
  Rng rng(1);
  const Tensor ids = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 4}, {2, 2});
  EXPECT_THROW(mask_tokens(ids, 4, 0.15, rng), Error);  // id 4 == mask id
  EXPECT_THROW(mask_tokens(ids, 10, 0.0, rng), Error);
  EXPECT_THROW(mask_tokens(ids, 10, 1.0, rng), Error);
}

// max |a - b| / max(1e-3, max |b|), a in f32, b in f64
double scaled_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.numel(), b.numel());
  const Tensor x = a.to(DType::f64), y = b.to(DType::f64);
  double diff = 0, scale = 1e-3;
  for (int64_t i = 0; i < y.numel(); ++i) {
    diff = std::max(diff, std::abs(x.data<double>()[i] - y.data<double>()[i]));
    scale = std::max(scale, std::abs(y.data<double>()[i]));
  }
  return diff / scale;
}

TEST(MaskedLm, EncoderMatchesPyTorchReference) {
  const std::string dir = std::string(ROTOR_SOURCE_DIR) + "/tests/models/data/transformer/encoder_mlm";
  const std::unique_ptr<Transformer> fused = load_model(dir);
  const io::TensorMap ref = io::load_safetensors(dir + "/reference.safetensors");
  AutogradGpt model(fused->config());
  model.load_from(*fused);
  model.set_bidirectional(true);
  const MaskedBatch batch{ref.at("ids").to(DType::i64), ref.at("targets").to(DType::i64)};
  int64_t chosen = 0;
  for (int64_t i = 0; i < batch.targets.numel(); ++i) chosen += batch.targets.data<int64_t>()[i] != kIgnoredTarget;
  ASSERT_GE(chosen, 1);
  ASSERT_LT(chosen, batch.targets.numel());  // some positions are left out of the loss

  const autograd::Var logits = model.forward(batch.inputs);
  EXPECT_LE(scaled_diff(logits.value(), ref.at("logits")), 2e-5);
  autograd::Var loss = masked_lm_loss(model, batch);
  EXPECT_NEAR(loss.item(), ref.at("loss").data<double>()[0], 1e-5);
  loss.backward();
  for (const auto& [name, v] : model.named_parameters()) {
    ASSERT_TRUE(ref.count("grad." + name)) << name;
    ASSERT_TRUE(v.grad().defined()) << name;
    EXPECT_LE(scaled_diff(v.grad(), ref.at("grad." + name)), 1e-4) << name;
  }
}

// Changing the last token moves the logits at the first position in the encoder, not in the causal model.
TEST(MaskedLm, EncoderSeesLaterTokens) {
  TransformerConfig c;
  c.layers = 1;
  c.dim = 16;
  c.heads = 2;
  c.kv_heads = 2;
  c.ctx = 6;
  c.vocab = 9;
  c.pos = PositionKind::learned;
  Rng rng(5);
  Transformer fused(c);
  fused.init_parameters(rng, Transformer::Init::torch);
  AutogradGpt model(c);
  model.load_from(fused);
  const Tensor a = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 4, 5, 6}, {1, 6});
  const Tensor b = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 4, 5, 0}, {1, 6});
  auto first_position_change = [&] {
    autograd::NoGradGuard no_grad;
    const Tensor x = model.forward(a).value().contiguous(), y = model.forward(b).value().contiguous();
    double change = 0;
    for (int64_t v = 0; v < c.vocab; ++v) change = std::max(change, double(std::abs(x.data<float>()[v] - y.data<float>()[v])));
    return change;
  };
  EXPECT_EQ(first_position_change(), 0.0);  // causal
  model.set_bidirectional(true);
  EXPECT_GT(first_position_change(), 1e-4);
  EXPECT_THROW(masked_lm_loss(AutogradGpt(c, MixerSpec{}, rng), mask_tokens(a, 8, kMaskRate, rng)), Error);
}

}  // namespace
}  // namespace rotor::models
