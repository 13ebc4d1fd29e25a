// ClipModel (rotor/models/clip_model.h) and its trainer: the caption set, the whole model's gradients
// with the chunked SigLIP loss equal to the unchunked ones, zero-shot learning of a separable toy, and a
// save/load round trip that reproduces the evaluation.
#include "rotor/models/clip_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/models/clip_captions.h"
#include "rotor/models/clip_trainer.h"

namespace rotor::models {
namespace {

ClipConfig tiny_config(ContrastiveLoss loss) {
  ClipConfig c;
  c.loss = loss;
  c.embed = 16;
  c.image.channels1 = 4, c.image.channels2 = 8, c.image.hidden = 32;
  c.text_layers = 1, c.text_dim = 32, c.text_heads = 2;
  return c;
}

// Toy images: class c is a bright horizontal bar at rows 2c+4, 2c+5 on faint noise.
VisionData toy_images(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(static_cast<size_t>(n * 28 * 28));
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = static_cast<int64_t>(rng.uniform_int(10));
    y[static_cast<size_t>(i)] = c;
    for (int64_t p = 0; p < 28 * 28; ++p) {
      const int64_t row = p / 28;
      x[static_cast<size_t>(i * 784 + p)] = (row == 2 * c + 4 || row == 2 * c + 5 ? 0.9f : 0.0f) + 0.1f * rng.uniform_float();
    }
  }
  return {Tensor::from_vector(x, {n, 1, 28, 28}), Tensor::from_vector(y, {n})};
}

TEST(ClipCaptions, TemplatesNamesAndDraws) {
  const auto all = all_captions();
  EXPECT_EQ(all.size(), 240u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 240u);  // all distinct
  EXPECT_EQ(class_caption(9, 0, 0), "a photo of an ankle boot.");
  EXPECT_EQ(class_caption(0, 2, 1), "A top on a plain background.");
  const auto prompts = class_prompts(3);
  const std::set<std::string> dress(prompts.begin(), prompts.end());
  Rng rng(5);
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string c = random_caption(3, rng);
    EXPECT_TRUE(dress.count(c)) << c;
    seen.insert(c);
  }
  EXPECT_EQ(seen.size(), 24u);  // every template x name is drawn
  EXPECT_THROW(class_caption(10, 0, 0), Error);
}

TEST(ClipModel, TokenizesWithEndOfText) {
  Rng rng(1);
  ClipModel model(tiny_config(ContrastiveLoss::clip), train_caption_tokenizer(512), rng);
  std::vector<int64_t> eot;
  const Tensor ids = model.tokenize({"a photo of a bag.", "this is a tee."}, eot);
  ASSERT_EQ(ids.size(1), 24);
  const int64_t* p = ids.data<int64_t>();
  for (int i = 0; i < 2; ++i) {
    ASSERT_GE(eot[i], 1);
    for (int64_t t = eot[i]; t < 24; ++t) EXPECT_EQ(p[i * 24 + t], p[i * 24 + eot[i]]);  // EOT then EOT padding
    for (int64_t t = 0; t < eot[i]; ++t) EXPECT_LT(p[i * 24 + t], p[i * 24 + eot[i]]);
  }
  ClipConfig small_ctx = tiny_config(ContrastiveLoss::clip);
  small_ctx.ctx = 4;
  ClipModel short_model(small_ctx, train_caption_tokenizer(512), rng);
  EXPECT_THROW(short_model.tokenize({"a black and white photo of a pair of trousers."}, eot), Error);
}

TEST(ClipModel, ChunkedSiglipGradientsEqualUnchunked) {
  set_num_threads(1);
  const VisionData data = toy_images(10, 3);
  std::vector<std::string> captions;
  Rng caption_rng(4);
  for (int64_t i = 0; i < 10; ++i) captions.push_back(random_caption(data.labels.data<int64_t>()[i], caption_rng));
  const auto ranks = train_caption_tokenizer(512);
  std::vector<std::vector<Tensor>> grads;
  std::vector<double> losses;
  for (int64_t chunk : {0, 3, 10}) {
    ClipConfig c = tiny_config(ContrastiveLoss::siglip);
    c.siglip_chunk = chunk;
    Rng rng(11);
    ClipModel model(c, ranks, rng);
    const autograd::Var loss = model.loss(data.images, captions);
    loss.backward();
    losses.push_back(loss.item());
    std::vector<Tensor> g;
    for (const auto& p : model.parameters()) g.push_back(p.grad().defined() ? p.grad().contiguous() : Tensor());
    grads.push_back(g);
  }
  ASSERT_GT(losses[0], 0);
  // Tolerance relative to the largest gradient entry of the model (f32 sums in another order; the CNN's
  // conv biases before BatchNorm have gradients that are rounding noise).
  double scale = 0;
  for (const Tensor& g : grads[0])
    if (g.defined())
      for (int64_t j = 0; j < g.numel(); ++j) scale = std::max(scale, double(std::abs(g.data<float>()[j])));
  ASSERT_GT(scale, 0);
  size_t nonzero = 0;
  for (size_t k = 1; k < grads.size(); ++k) {
    EXPECT_NEAR(losses[k], losses[0], 1e-5 * std::abs(losses[0]));
    ASSERT_EQ(grads[k].size(), grads[0].size());
    for (size_t i = 0; i < grads[0].size(); ++i) {
      ASSERT_EQ(grads[k][i].defined(), grads[0][i].defined()) << i;
      if (!grads[0][i].defined()) continue;
      const float* a = grads[0][i].data<float>();
      const float* b = grads[k][i].data<float>();
      double own = 0;
      for (int64_t j = 0; j < grads[0][i].numel(); ++j) own = std::max(own, double(std::abs(a[j])));
      nonzero += own > 1e-3 * scale;
      for (int64_t j = 0; j < grads[0][i].numel(); ++j)
        ASSERT_NEAR(a[j], b[j], 1e-5 * scale + 1e-4 * std::abs(a[j])) << i << " " << j;
    }
  }
  EXPECT_GT(nonzero, grads[0].size() / 2);  // gradients reach both towers
  set_num_threads(0);
}

TEST(ClipModel, LearnsZeroShotOnSeparableToyAndRoundTrips) {
  const VisionData train = toy_images(400, 1), test = toy_images(200, 2);
  for (ContrastiveLoss loss : {ContrastiveLoss::clip, ContrastiveLoss::siglip}) {
    Rng rng(7);
    ClipModel model(tiny_config(loss), train_caption_tokenizer(512), rng);
    const double before = evaluate_clip(model, test, 1)["zero_shot_accuracy"].get<double>();
    ClipTrainOptions o;
    o.batch = 40, o.steps = 150, o.lr = 3e-3, o.log_every = 50;
    const ClipRun run = train_clip(model, train, test, o);
    const nlohmann::json& m = run.metrics;
    EXPECT_LT(before, 0.5);
    EXPECT_GT(m["zero_shot_accuracy"].get<double>(), 0.9) << contrastive_loss_name(loss) << " " << m.dump();
    EXPECT_GT(m["t2i_recall@1"].get<double>(), 0.9) << m.dump();
    for (const char* key : {"zero_shot_accuracy", "i2t_recall@1", "i2t_recall@5", "t2i_recall@1", "t2i_recall@5",
                            "i2t_pair_recall@1", "i2t_pair_recall@5", "t2i_pair_recall@1", "t2i_pair_recall@5"}) {
      const double v = m[key].get<double>();
      EXPECT_TRUE(v >= 0 && v <= 1) << key << " " << v;
    }
    EXPECT_GE(m["i2t_recall@5"].get<double>(), m["i2t_recall@1"].get<double>());
    EXPECT_LT(run.losses.back(), run.losses.front());

    const std::string dir = (std::filesystem::temp_directory_path() / ("rotor_clip_test_" +
                             std::string(contrastive_loss_name(loss)))).string();
    std::filesystem::remove_all(dir);
    save_clip_run(dir, model, o, run);
    auto loaded = load_clip_model(dir);
    const nlohmann::json again = evaluate_clip(*loaded, test, o.caption_seed);
    for (const auto& [key, value] : again.items()) EXPECT_EQ(value, m[key]) << key;
    EXPECT_EQ(load_clip_options(dir).batch, 40);
    std::filesystem::remove_all(dir);
  }
}

TEST(ClipModel, ConfigIsStrict) {
  EXPECT_THROW(ClipConfig::from_json({{"embedd", 3}}), Error);
  EXPECT_THROW(ClipConfig::from_json({{"loss", "triplet"}}), Error);
  EXPECT_THROW(ClipConfig::from_json({{"loss", "clip"}, {"siglip_chunk", 4}}), Error);
  EXPECT_THROW(ClipConfig::from_json({{"text_dim", 30}, {"text_heads", 4}}), Error);
  const ClipConfig c = ClipConfig::from_json(tiny_config(ContrastiveLoss::siglip).to_json());
  EXPECT_EQ(c.to_json(), tiny_config(ContrastiveLoss::siglip).to_json());
}

}  // namespace
}  // namespace rotor::models
