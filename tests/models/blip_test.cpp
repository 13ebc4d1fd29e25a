// BlipModel (rotor/models/blip_model.h): the ITM head and captioning decoder against PyTorch
// (tests/models/make_blip_reference.py), hard-negative mining, causality of the decoder and padding of the
// encoder, the class-naming rule of generated captions, and a whole-model save/load round trip.
#include "rotor/models/blip_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "../nn/json_reference.h"
#include "rotor/autograd/views.h"
#include "rotor/core/error.h"
#include "rotor/models/blip_trainer.h"
#include "rotor/models/clip_captions.h"

namespace rotor::models {
namespace {

using testing_json::expect_close;
using testing_json::ids_of;
using testing_json::tensor_of;

// Max |got - want| / max(1, |want|) <= tol, element by element (f32 against the f64 reference).
void expect_relative(const Tensor& got, const nlohmann::json& want, const std::string& what, double tol) {
  expect_close(got.to(DType::f64), want, what, tol);
}

nn::StateDict prefixed(const nlohmann::json& weights, const std::string& prefix) {
  nn::StateDict out;
  for (const auto& [name, t] : weights.items())
    if (name.rfind(prefix + ".", 0) == 0) out[name.substr(prefix.size() + 1)] = tensor_of(t).to(DType::f32);
  return out;
}

TEST(BlipReference, ItmHeadAndCaptionDecoderMatchPyTorch) {
  const auto ref = testing_json::read_reference("tests/models/data/blip_reference.json");
  const auto& c = ref["config"];
  BlipTextConfig tc;
  tc.vocab = c["vocab"], tc.dim = c["dim"], tc.heads = c["heads"], tc.ctx = c["ctx"], tc.layers = c["layers"];
  Rng rng(3);
  BlipTextTransformer fusion(tc, rng);
  tc.causal = true;
  BlipTextTransformer decoder(tc, rng);
  nn::Linear itm_head(tc.dim, 2, true, rng), head(tc.dim, tc.vocab, true, rng);
  fusion.load_state_dict(prefixed(ref["weights"], "fusion"));
  decoder.load_state_dict(prefixed(ref["weights"], "decoder"));
  itm_head.load_state_dict(prefixed(ref["weights"], "itm_head"));
  head.load_state_dict(prefixed(ref["weights"], "head"));

  BlipTokens tokens{ids_of(ref["ids"]), ref["lengths"].get<std::vector<int64_t>>()};
  const int64_t L = tokens.ids.size(1);
  Var image(tensor_of(ref["image"]).to(DType::f32), true);
  const Var itm_logits = itm_head.forward(autograd::select(fusion.forward(tokens.ids, image, blip_key_padding(tokens)), 1, 0));
  const Var itm = itm_loss(itm_logits, ref["matches"].get<std::vector<int64_t>>());
  const Var logits = head.forward(decoder.forward(tokens.ids.narrow(1, 0, L - 1).contiguous(), image));
  const Var lm = caption_loss(logits, tokens);
  expect_relative(itm_logits.value(), ref["itm_logits"], "itm logits", 1e-4);
  expect_relative(logits.value(), ref["decoder_logits"], "decoder logits", 1e-4);
  EXPECT_NEAR(itm.item(), ref["itm_loss"].get<double>(), 1e-4 * std::fabs(ref["itm_loss"].get<double>()));
  EXPECT_NEAR(lm.item(), ref["lm_loss"].get<double>(), 1e-4 * std::fabs(ref["lm_loss"].get<double>()));

  autograd::add(itm, lm).backward();
  std::map<std::string, Var> params;
  for (const auto& [name, v] : fusion.named_parameters()) params["fusion." + name] = v;
  for (const auto& [name, v] : decoder.named_parameters()) params["decoder." + name] = v;
  for (const auto& [name, v] : itm_head.named_parameters()) params["itm_head." + name] = v;
  for (const auto& [name, v] : head.named_parameters()) params["head." + name] = v;
  ASSERT_EQ(params.size(), ref["grads"].size());
  for (const auto& [name, want] : ref["grads"].items()) {
    ASSERT_TRUE(params.count(name)) << name;
    expect_relative(params[name].grad(), want, "grad " + name, 1e-4);
  }
  expect_relative(image.grad(), ref["image_grad"], "grad image", 1e-4);
}

TEST(BlipHardNegatives, NeverThePositiveNorItsClassAndFollowTheSoftmax) {
  Rng rng(11);
  const int64_t B = 12;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < B; ++i) labels.push_back(i % 4);
  std::vector<float> s(static_cast<size_t>(B * B));
  for (float& v : s) v = static_cast<float>(3.0 * rng.normal());
  for (int64_t i = 0; i < B; ++i) s[static_cast<size_t>(i * B + i)] = 50.0f;  // the positive dominates the softmax
  const Tensor sim = Tensor::from_vector(s, {B, B});
  std::vector<std::vector<int64_t>> counts(static_cast<size_t>(B), std::vector<int64_t>(static_cast<size_t>(B), 0));
  const int draws = 4000;
  for (int d = 0; d < draws; ++d) {
    const auto neg = sample_hard_negatives(sim, labels, rng);
    for (int64_t i = 0; i < B; ++i) {
      const int64_t j = neg[static_cast<size_t>(i)];
      ASSERT_GE(j, 0);
      ASSERT_NE(j, i);
      ASSERT_NE(labels[static_cast<size_t>(j)], labels[static_cast<size_t>(i)]);
      ++counts[static_cast<size_t>(i)][static_cast<size_t>(j)];
    }
  }
  for (int64_t i = 0; i < B; ++i) {  // frequencies follow the softmax over the other classes' columns
    double total = 0;
    for (int64_t j = 0; j < B; ++j)
      if (labels[static_cast<size_t>(j)] != labels[static_cast<size_t>(i)]) total += std::exp(s[static_cast<size_t>(i * B + j)]);
    for (int64_t j = 0; j < B; ++j) {
      if (labels[static_cast<size_t>(j)] == labels[static_cast<size_t>(i)]) continue;
      const double p = std::exp(s[static_cast<size_t>(i * B + j)]) / total;
      const double freq = static_cast<double>(counts[static_cast<size_t>(i)][static_cast<size_t>(j)]) / draws;
      EXPECT_NEAR(freq, p, 4 * std::sqrt(p * (1 - p) / draws) + 1e-3) << "row " << i << " column " << j;
    }
  }
  // Rows whose every column is of their own class have no negative.
  const auto none = sample_hard_negatives(Tensor::zeros({3, 3}), {2, 2, 2}, rng);
  EXPECT_EQ(none, (std::vector<int64_t>{-1, -1, -1}));
  EXPECT_THROW(sample_hard_negatives(Tensor::zeros({3, 2}), {0, 1, 2}, rng), Error);
}

BlipTextConfig small_text(bool causal) {
  BlipTextConfig c;
  c.vocab = 13, c.dim = 8, c.heads = 2, c.layers = 2, c.ctx = 9, c.causal = causal;
  return c;
}

Tensor random_ids(int64_t b, int64_t t, int64_t vocab, Rng& rng) {
  std::vector<int64_t> v(static_cast<size_t>(b * t));
  for (int64_t& x : v) x = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(vocab)));
  return Tensor::from_vector(v, {b, t});
}

TEST(BlipDecoder, IsCausal) {
  Rng rng(5);
  BlipTextTransformer decoder(small_text(true), rng);
  const Var image(Tensor::from_vector(std::vector<float>(2 * 4 * 8, 0.3f), {2, 4, 8}));
  const Tensor ids = random_ids(2, 8, 13, rng);
  const Tensor a = decoder.forward(ids, image).value().contiguous();
  for (int64_t k = 1; k < 8; ++k) {
    Tensor changed = ids.clone();
    for (int64_t b = 0; b < 2; ++b) changed.data<int64_t>()[b * 8 + k] = (ids.data<int64_t>()[b * 8 + k] + 1 + k) % 13;
    const Tensor c = decoder.forward(changed, image).value().contiguous();
    double before = 0, at = 0;
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t t = 0; t < 8; ++t)
        for (int64_t d = 0; d < 8; ++d) {
          const int64_t i = (b * 8 + t) * 8 + d;
          const double diff = std::fabs(a.data<float>()[i] - c.data<float>()[i]);
          (t < k ? before : at) = std::max(t < k ? before : at, diff);
        }
    EXPECT_EQ(before, 0.0) << "position " << k << " moved earlier outputs";
    EXPECT_GT(at, 1e-4) << "position " << k << " changed nothing";  // the change is seen from k on
  }
}

TEST(BlipEncoder, SeesEveryPositionButNotThePadding) {
  Rng rng(6);
  BlipTextTransformer encoder(small_text(false), rng);
  const Var image(Tensor::from_vector(std::vector<float>(4 * 8, -0.2f), {1, 4, 8}));
  BlipTokens t{random_ids(1, 8, 13, rng), {3}};  // valid positions 0 .. 4, padding 5 .. 7
  const Tensor pad = blip_key_padding(t);
  EXPECT_EQ(pad.data<uint8_t>()[4], 0);
  EXPECT_EQ(pad.data<uint8_t>()[5], 1);
  const Tensor a = autograd::select(encoder.forward(t.ids, image, pad), 1, 0).value().contiguous();
  auto first_row_change = [&](int64_t position) {
    Tensor changed = t.ids.clone();
    changed.data<int64_t>()[position] = (changed.data<int64_t>()[position] + 5) % 13;
    const Tensor c = autograd::select(encoder.forward(changed, image, pad), 1, 0).value().contiguous();
    double m = 0;
    for (int64_t d = 0; d < 8; ++d) m = std::max(m, double(std::fabs(a.data<float>()[d] - c.data<float>()[d])));
    return m;
  };
  EXPECT_GT(first_row_change(4), 1e-4);  // bidirectional: position 0 reads a later token
  EXPECT_EQ(first_row_change(6), 0.0);   // padding is no key
}

TEST(BlipCaptions, NamesClassesAsWholeWords) {
  EXPECT_EQ(classes_named("a photo of a t-shirt."), (std::vector<int64_t>{0}));
  EXPECT_EQ(classes_named("A button-down shirt on a plain background."), (std::vector<int64_t>{6}));
  EXPECT_EQ(classes_named("this is a shirt."), (std::vector<int64_t>{6}));
  EXPECT_EQ(classes_named("a photo of a pair of trousers."), (std::vector<int64_t>{1}));
  EXPECT_EQ(classes_named("a photo of trousers."), (std::vector<int64_t>{}));
  EXPECT_EQ(classes_named("An ankle boot or a sneaker"), (std::vector<int64_t>{7, 9}));
  EXPECT_EQ(classes_named("a stop sign"), (std::vector<int64_t>{}));  // "top" inside a word
  EXPECT_EQ(classes_named("a photo of an overcoat."), (std::vector<int64_t>{4}));
  for (int64_t c = 0; c < kFashionClasses; ++c)
    for (const std::string& caption : class_prompts(c)) EXPECT_EQ(classes_named(caption), (std::vector<int64_t>{c})) << caption;
  EXPECT_DOUBLE_EQ(caption_class_rate({"a photo of a bag.", "a bag and a purse", "a dress or a coat", "text"}, {8, 8, 3, 0}),
                   0.5);
}

BlipConfig tiny_blip() {
  BlipConfig c;
  c.clip.embed = 16;
  c.clip.image.channels1 = 4, c.clip.image.channels2 = 8, c.clip.image.hidden = 32;
  c.clip.text_layers = 1, c.clip.text_dim = 16, c.clip.text_heads = 2;
  c.fusion_layers = 1, c.decoder_layers = 1;
  return c;
}

VisionData noise_images(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(static_cast<size_t>(n * 784));
  for (float& v : x) v = rng.uniform_float();
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) y[static_cast<size_t>(i)] = i % 10;
  return {Tensor::from_vector(x, {n, 1, 28, 28}), Tensor::from_vector(y, {n})};
}

TEST(BlipModel, ConfigRoundTripAndStrictness) {
  const BlipConfig c = tiny_blip();
  const nlohmann::json j = c.to_json();
  EXPECT_EQ(j["model"], "blip");
  EXPECT_FALSE(j.contains("loss"));
  EXPECT_EQ(BlipConfig::from_json(j).to_json(), j);
  nlohmann::json bad = j;
  bad["loss"] = "siglip";
  EXPECT_THROW(BlipConfig::from_json(bad), Error);
  bad = j;
  bad["fusion_layers"] = 0;
  EXPECT_THROW(BlipConfig::from_json(bad), Error);
}

TEST(BlipModel, ItmAndCaptionLossesReachTheImageTower) {
  const VisionData batch = noise_images(10, 3);
  Rng rng(2);
  BlipModel model(tiny_blip(), train_caption_tokenizer(512), rng);
  std::vector<std::string> captions;
  const int64_t* y = batch.labels.data<int64_t>();
  for (int64_t i = 0; i < 10; ++i) captions.push_back(random_caption(y[i], rng));
  const BlipModel::Losses l = model.losses(batch.images, captions, std::vector<int64_t>(y, y + 10), rng);
  EXPECT_EQ(l.negatives, 20);
  EXPECT_NEAR(l.total.item(), l.itc.item() + l.itm.item() + l.lm.item(), 1e-5 * l.total.item());
  autograd::add(l.itm, l.lm).backward();  // without ITC: only the cross-attention path reaches the CNN
  const auto named = model.named_parameters();
  std::map<std::string, Var> params(named.begin(), named.end());
  for (const char* name : {"clip.image.conv1.weight", "clip.image.conv2.weight", "image_tokens.weight",
                           "fusion.layers.0.cross_attn.k.weight", "decoder.layers.0.cross_attn.v.weight", "head.weight"}) {
    ASSERT_TRUE(params.count(name)) << name;
    const Tensor g = params[name].grad();
    ASSERT_TRUE(g.defined()) << name;
    double norm = 0;
    for (double v : g.to_double_vector()) norm += v * v;
    EXPECT_GT(norm, 0.0) << name;
  }
  EXPECT_FALSE(params["clip.text_proj.weight"].grad().defined());  // the ITC text tower is not on this path
}

TEST(BlipModel, TrainsSavesAndReloadsTheSameEvaluation) {
  const VisionData train = noise_images(40, 1), test = noise_images(20, 2);
  Rng rng(1);
  BlipModel model(tiny_blip(), train_caption_tokenizer(512), rng);
  const BlipTokens t = model.tokenize({"a photo of a bag.", "this is a tee."});
  EXPECT_EQ(t.ids.data<int64_t>()[0], model.bos());
  EXPECT_EQ(t.ids.data<int64_t>()[t.lengths[0] + 1], model.clip().end_of_text());

  ClipTrainOptions o;
  o.batch = 10, o.steps = 3, o.log_every = 2;
  ClipRun run = train_blip(model, train, test, o);
  ASSERT_EQ(run.steps, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(run.parts.size(), 2u);
  ASSERT_EQ(run.parts[0].size(), 4u);  // itc, itm, lm, negatives
  EXPECT_NEAR(run.losses[0], run.parts[0][0] + run.parts[0][1] + run.parts[0][2], 1e-4 * run.losses[0]);
  EXPECT_EQ(run.parts[0][3], 20.0);  // batches of 10 with 10 classes: every row has 2 negatives
  for (const char* k : {"zero_shot_accuracy", "itm_accuracy", "caption_class_rate"}) {
    ASSERT_TRUE(run.metrics.contains(k)) << k;
    EXPECT_GE(run.metrics[k].get<double>(), 0.0);
    EXPECT_LE(run.metrics[k].get<double>(), 1.0);
  }
  const std::string dir = (std::filesystem::temp_directory_path() / "rotor_blip_test_run").string();
  std::filesystem::remove_all(dir);
  save_blip_run(dir, model, o, run);
  auto loaded = load_blip_model(dir);
  const nlohmann::json again = evaluate_blip(*loaded, test, o.caption_seed);
  for (const char* k : {"zero_shot_accuracy", "itm_accuracy", "caption_class_rate", "caption_samples"})
    EXPECT_EQ(again[k], run.metrics[k]) << k;
  EXPECT_THROW(load_clip_model(dir), Error);  // a blip run is not a clip run
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rotor::models
