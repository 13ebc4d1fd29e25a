// vqgan (rotor/models/vqgan.h): the hinge losses and their gradients against PyTorch float64, a tiny model's
// stage-1 losses (adaptive weight lambda, autoencoder loss with the GAN term, discriminator loss) and their
// gradients against PyTorch float64 (tests/models/make_vision_reference.py), the prior's samples following its
// distribution (BOS never drawn) and decoding to images, the stages' step ranges in a short run, save/load,
// bad configs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/models/vision_trainer.h"
#include "rotor/models/vqgan.h"
#include "tests/models/vision_reference.h"

namespace rotor::models {
namespace {

using json = nlohmann::json;
using namespace rotor::autograd;
using namespace rotor::models::vision_testing;

TEST(VqGan, HingeLossesAndGradientsEqualPyTorchFloat64) {
  const json& c = reference()["hinge"];
  const Var real(tensor_of(c["real"], DType::f64), true), fake(tensor_of(c["fake"], DType::f64), true);
  const Var d = hinge_discriminator_loss(real, fake);
  EXPECT_NEAR(d.item(), c["d_loss"].get<double>(), 1e-12);
  const std::vector<Var> dg = grad(d, {real, fake});
  expect_close(dg[0].value(), c["d_grad_real"], 1e-12, "d_grad_real");
  expect_close(dg[1].value(), c["d_grad_fake"], 1e-12, "d_grad_fake");
  const Var g = hinge_generator_loss(fake);
  EXPECT_NEAR(g.item(), c["g_loss"].get<double>(), 1e-12);
  expect_close(grad(g, {fake})[0].value(), c["g_grad_fake"], 1e-12, "g_grad_fake");
}

std::shared_ptr<VqGan> reference_model(const json& c) {
  Rng rng(0);
  auto model = std::make_shared<VqGan>(VqGanConfig::from_json(c["config"]), rng);
  model->load_state_dict(params_of(c), false);
  const Tensor book = tensor_of(c["codebook"]);
  model->autoencoder().quantizer().set_state(book, Tensor::ones({book.size(0)}, DType::f64), book);
  model->eval();
  return model;
}

TEST(VqGan, AdaptiveWeightAndStageOneLossesEqualPyTorchFloat64) {
  const json& c = reference()["vqgan"];
  auto model = reference_model(c);
  const Tensor images = tensor_of(c["images"]);
  Rng rng(0);
  StepFigures figures;
  const Var loss = model->autoencoder_loss(images, true, false, rng, figures);
  const double tol = 1e-4;
  for (const auto& [key, ref] : {std::pair<const char*, const char*>{"rec_loss", "rec_loss"},
                                 {"commitment", "commitment"},
                                 {"generator_gan_loss", "gan_loss"},
                                 {"adaptive_weight", "adaptive_weight"}}) {
    ASSERT_TRUE(figures.count(key)) << key;
    EXPECT_NEAR(figures[key], c[ref].get<double>(), tol * std::abs(c[ref].get<double>())) << key;
  }
  EXPECT_NEAR(loss.item(), c["loss"].get<double>(), tol * std::abs(c["loss"].get<double>()));
  model->zero_grad();
  loss.backward();
  size_t compared = 0;
  for (auto& [name, p] : model->named_parameters())
    if (c["grads"].contains(name)) expect_close(p.grad(), c["grads"][name], tol, name), ++compared;
  EXPECT_EQ(compared, c["grads"].size());

  model->zero_grad();
  const Var d = model->discriminator_loss(images, figures);
  EXPECT_NEAR(d.item(), c["d_loss"].get<double>(), tol * std::abs(c["d_loss"].get<double>()));
  d.backward();
  for (auto& [name, p] : model->named_parameters()) {
    if (c["d_grads"].contains(name)) {
      expect_close(p.grad(), c["d_grads"][name], tol, name);
      ++compared;
    } else if (name.rfind("autoencoder.", 0) == 0) {
      EXPECT_FALSE(p.grad().defined()) << name << " got a gradient";
    }
  }
  EXPECT_EQ(compared, c["grads"].size() + c["d_grads"].size());
}

TEST(VqGan, AdaptiveWeightIsClampedAndZeroWithoutReconstructionGradient) {
  const Var w(Tensor::from_vector(std::vector<double>{1.0, -2.0}, {2}), true);
  // rec = 3 (w . w) -> grad 6 w; gan = 1e-9 * sum(w) -> grad 1e-9: ratio above 1e4 -> clamped.
  const Var rec = sum(square(w)) * 3.0, gan = sum(w) * 1e-9;
  EXPECT_DOUBLE_EQ(adaptive_gan_weight(rec, gan, w), 1e4);
  // ||6 w|| / (||(1, 1)|| + 1e-4)
  EXPECT_NEAR(adaptive_gan_weight(rec, sum(w), w), 6 * std::sqrt(5.0) / (std::sqrt(2.0) + 1e-4), 1e-12);
  EXPECT_DOUBLE_EQ(adaptive_gan_weight(sum(w) * 0.0, sum(w), w), 0.0);
}

json tiny_config() {
  return {{"channels", 4}, {"codebook_size", 4},  {"code_dim", 3},    {"d_channels", 4},  {"stage1_steps", 5},
          {"disc_start", 2}, {"prior_layers", 1}, {"prior_dim", 8}, {"prior_heads", 2}};
}

// A prior whose every position has logits (0, 1, 2, 3, BOS 10): the final norm outputs its bias b, the head's
// row c is c b / |b|^2. The codes must follow softmax(0, 1, 2, 3) and never be the BOS id.
TEST(VqGan, PriorSamplesFollowThePriorAndDecodeToImages) {
  Rng rng(3);
  VqGan model(VqGanConfig::from_json(tiny_config()), rng);
  nn::StateDict state;
  std::vector<float> b(8), head(5 * 8);
  double bb = 0;
  for (size_t i = 0; i < 8; ++i) b[i] = 0.25f * static_cast<float>(i + 1), bb += b[i] * b[i];
  for (int64_t c = 0; c < 5; ++c)
    for (size_t i = 0; i < 8; ++i) head[static_cast<size_t>(c) * 8 + i] = static_cast<float>((c == 4 ? 10 : c) * b[i] / bb);
  state["norm_f.weight"] = Tensor::zeros({8});
  state["norm_f.bias"] = Tensor::from_vector(b, {8});
  state["head.weight"] = Tensor::from_vector(head, {5, 8});
  model.prior().load_state_dict(state, false);
  model.eval();
  const int64_t count = 400;
  const std::vector<int64_t> codes = model.sample_codes(count, rng);
  ASSERT_EQ(codes.size(), static_cast<size_t>(count * 49));
  std::vector<double> freq(4, 0);
  for (int64_t code : codes) {
    ASSERT_TRUE(code >= 0 && code < 4) << code;
    freq[static_cast<size_t>(code)] += 1.0 / static_cast<double>(codes.size());
  }
  const double z = 1 + std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(freq[static_cast<size_t>(c)], std::exp(double(c)) / z, 0.01) << c;

  const Tensor images = model.decode_codes(codes);
  EXPECT_EQ(images.shape(), (Shape{count, 28, 28}));
  for (double v : images.to_double_vector()) ASSERT_TRUE(v >= 0 && v <= 1) << v;
  // Codes all 2 decode as the codebook row 2 through the decoder.
  const std::vector<int64_t> twos(49, 2);
  NoGradGuard no_grad;
  const Tensor row = model.autoencoder().quantizer().codebook().narrow(0, 2, 1).contiguous();
  Tensor z_q = Tensor::empty({49, 3});
  for (int64_t i = 0; i < 49; ++i) z_q.narrow(0, i, 1).copy_(row);
  const Tensor want = clamp(model.autoencoder().decode(Var(z_q)), 0.0, 1.0).value().reshape({1, 28, 28});
  EXPECT_EQ(model.decode_codes(twos).to_double_vector(), want.to_double_vector());
  EXPECT_THROW(model.decode_codes({0, 1}), Error);
  EXPECT_THROW(model.decode_codes(std::vector<int64_t>(49, 4)), Error);
}

bool has_value(const std::vector<double>& column, size_t row) { return row < column.size() && !std::isnan(column[row]); }

TEST(VqGan, TrainsStageOneThenThePriorAndReloads) {
  const VisionData train = small_set(true, 64), test = small_set(false, 20);
  Rng rng(1);
  VqGan model(VqGanConfig::from_json(tiny_config()), rng);
  VisionTrainOptions o;
  o.batch = 16;
  o.max_steps = 9;
  o.log_every = 1;
  o.epochs = 10;
  const VisionRun run = train_vision_model(model, train, test, o);
  ASSERT_EQ(run.steps.size(), 9u);
  for (size_t row = 0; row < 9; ++row) {
    const bool stage1 = row < 5, gan = row >= 2 && stage1;
    EXPECT_EQ(has_value(run.figures.at("autoencoder_loss"), row), stage1) << row;
    EXPECT_EQ(has_value(run.figures.at("discriminator_loss"), row), gan) << row;
    EXPECT_EQ(has_value(run.figures.at("adaptive_weight"), row), gan) << row;
    EXPECT_EQ(has_value(run.figures.at("prior_loss"), row), !stage1) << row;
    const double first = stage1 ? run.figures.at("autoencoder_loss")[row] : run.figures.at("prior_loss")[row];
    EXPECT_DOUBLE_EQ(run.losses[row], first) << row;
  }
  // The prior starts near uniform over K + 1 = 5 ids: its loss is near log 5.
  EXPECT_NEAR(run.figures.at("prior_loss")[5], std::log(5.0), 0.5);
  for (const char* key : {"test_mse", "codebook_perplexity", "test_prior_nll_nats"})
    ASSERT_TRUE(run.metrics.contains(key)) << key;
  EXPECT_GT(run.metrics["test_prior_nll_nats"].get<double>(), 0);

  const auto dir = std::filesystem::temp_directory_path() / "rotor_vqgan_test_run";
  std::filesystem::remove_all(dir);
  save_vision_run(dir.string(), model, o, run);
  auto loaded = load_vision_model(dir.string());
  EXPECT_EQ(loaded->name(), "vqgan");
  model.eval();
  Rng a(9), b(9);
  EXPECT_EQ(loaded->sample(2, a).to_double_vector(), model.sample(2, b).to_double_vector());
  std::filesystem::remove_all(dir);

  // A run too short for stage 2 is refused before it starts.
  o.max_steps = 5;
  VqGan short_model(VqGanConfig::from_json(tiny_config()), rng);
  EXPECT_THROW(train_vision_model(short_model, train, test, o), Error);
}

TEST(VqGan, BadConfigsAreErrors) {
  Rng rng(0);
  auto bad = [&](const json& j) { EXPECT_THROW(make_vision_model("vqgan", j, rng), Error) << j.dump(); };
  bad({{"gan_weight", 1}});
  bad({{"stage1_steps", 10}, {"disc_start", 10}});
  bad({{"prior_dim", 30}, {"prior_heads", 4}});
  bad({{"decay", 1.0}});
  bad({{"disc_weight", -1.0}});
  bad({{"codebook_size", 1}});
}

}  // namespace
}  // namespace rotor::models
