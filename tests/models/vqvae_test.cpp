// vqvae (rotor/models/vqvae.h) and its vector quantizer (rotor/nn/vector_quantizer.h): the quantizer's codes,
// values, commitment and straight-through gradient against PyTorch in float64, the whole model's loss,
// gradients and EMA step against PyTorch in float32 (tests/models/make_vision_reference.py), the EMA update
// and dead-code restart on a case computed by hand, a short run beating the mean image, save/load, bad configs.
#include <gtest/gtest.h>

#include <filesystem>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/models/vision_trainer.h"
#include "rotor/models/vqvae.h"
#include "tests/models/vision_reference.h"

namespace rotor::models {
namespace {

using json = nlohmann::json;
using namespace rotor::autograd;
using vision_testing::expect_close;
using vision_testing::params_of;
using vision_testing::reference;
using vision_testing::small_set;
using vision_testing::tensor_of;

TEST(VectorQuantizer, ForwardAndStraightThroughGradientEqualPyTorchFloat64) {
  const json& c = reference()["vq"];
  const Tensor codebook = tensor_of(c["codebook"], DType::f64);
  Rng rng(0);
  nn::VectorQuantizer vq({codebook.size(0), codebook.size(1)}, rng, DType::f64);
  vq.set_state(codebook, Tensor::ones({codebook.size(0)}, DType::f64), codebook);
  const Var z(tensor_of(c["z"], DType::f64), true);
  const nn::Quantized q = vq.quantize(z);
  EXPECT_EQ(q.codes, c["codes"].get<std::vector<int64_t>>());
  expect_close(q.quantized.value(), c["quantized"], 1e-12, "quantized");
  EXPECT_NEAR(q.commitment.item(), c["commitment"].get<double>(), 1e-12);
  const double beta = c["beta"].get<double>();
  const Var loss = add(sum(mul(Var(tensor_of(c["w"], DType::f64)), q.quantized)), mul(q.commitment, beta));
  EXPECT_NEAR(loss.item(), c["loss"].get<double>(), 1e-12);
  loss.backward();
  // d loss / d z = w (straight through) + beta * 2 (z - e) / (M D).
  expect_close(z.grad(), c["grad_z"], 1e-12, "grad_z");
}

TEST(VqVae, LossGradientsAndEmaStepEqualPyTorch) {
  const json& c = reference()["vqvae"];
  Rng rng(0);
  VqVae model(VqVaeConfig::from_json(c["config"]), rng);
  model.load_state_dict(params_of(c));
  io::TensorMap before;
  for (auto& [name, t] : c["buffers_before"].items()) before["quantizer." + name] = tensor_of(t);
  model.load_buffers(before);
  model.train();
  const VisionData batch{tensor_of(c["images"]), Tensor::zeros({3}, DType::i64)};
  const Var loss = model.loss(batch, rng);
  EXPECT_NEAR(loss.item(), c["loss"].get<double>(), 1e-5 * std::abs(c["loss"].get<double>()));
  loss.backward();
  for (auto& [name, p] : model.named_parameters()) expect_close(p.grad(), c["grads"][name], 1e-4, name);
  for (auto& [name, t] : c["buffers_after"].items())
    expect_close(model.buffers().at("quantizer." + name), t, 1e-5, name);
  // Evaluation mode (and no-grad) leaves the codebook alone.
  const std::vector<double> after = model.quantizer().codebook().to_double_vector();
  model.eval();
  model.loss(batch, rng);
  EXPECT_EQ(model.quantizer().codebook().to_double_vector(), after);
}

// K = 3 codes in D = 1: e = (0, 10, 100), N = (1, 1, 1), m = e; batch z = (1, 3, 11) -> codes (0, 0, 1),
// counts (2, 1, 0), sums (4, 11, 0). Decay 0.5: N = (1.5, 1, 0.5), m = (2, 10.5, 50), sum N = 3.
// epsilon 0.5: N~ = (N + 0.5) / (3 + 1.5) * 3 = (4/3, 1, 2/3), e = m / N~ = (1.5, 10.5, 75).
nn::VectorQuantizer hand_case(double epsilon, double dead_threshold) {
  Rng rng(0);
  nn::VectorQuantizer vq({3, 1, 0.5, epsilon, dead_threshold}, rng, DType::f32);
  const Tensor e = Tensor::from_vector(std::vector<float>{0, 10, 100}, {3, 1});
  vq.set_state(e, Tensor::ones({3}, DType::f64), e);
  return vq;
}

TEST(VectorQuantizer, EmaUpdateWithLaplaceSmoothingByHand) {
  const Tensor z = Tensor::from_vector(std::vector<float>{1, 3, 11}, {3, 1});
  Rng rng(5);
  nn::VectorQuantizer vq = hand_case(0.5, 0.0);
  const std::vector<int64_t> codes = vq.nearest(z);
  EXPECT_EQ(codes, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(vq.ema_update(z, codes, rng), 0);
  const auto n = vq.cluster_size().to_double_vector(), m = vq.embed_sum().to_double_vector();
  const auto e = vq.codebook().to_double_vector();
  const std::vector<double> want_n{1.5, 1.0, 0.5}, want_m{2, 10.5, 50}, want_e{1.5, 10.5, 75};
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_DOUBLE_EQ(n[k], want_n[k]) << k;
    EXPECT_DOUBLE_EQ(m[k], want_m[k]) << k;
    EXPECT_NEAR(e[k], want_e[k], 1e-5 * want_e[k]) << k;
  }
  // Nearly no smoothing: e = m / N = (4/3, 10.5, 100).
  nn::VectorQuantizer sharp = hand_case(1e-9, 0.0);
  sharp.ema_update(z, codes, rng);
  EXPECT_NEAR(sharp.codebook().to_double_vector()[0], 4.0 / 3.0, 1e-6);
  EXPECT_NEAR(sharp.codebook().to_double_vector()[2], 100.0, 1e-4);
}

TEST(VectorQuantizer, DeadCodesRestartAtBatchRows) {
  const Tensor z = Tensor::from_vector(std::vector<float>{1, 3, 11}, {3, 1});
  // Threshold 0.6: only code 2 (N = 0.5) is dead; codes 0 and 1 keep their EMA values.
  std::vector<int> chosen(3, 0);
  for (uint64_t seed = 0; seed < 30; ++seed) {
    Rng rng(seed);
    nn::VectorQuantizer vq = hand_case(0.5, 0.6);
    EXPECT_EQ(vq.ema_update(z, vq.nearest(z), rng), 1);
    const auto n = vq.cluster_size().to_double_vector(), m = vq.embed_sum().to_double_vector();
    const auto e = vq.codebook().to_double_vector();
    EXPECT_NEAR(e[0], 1.5, 1e-5);
    EXPECT_NEAR(e[1], 10.5, 1e-5);
    EXPECT_DOUBLE_EQ(n[0], 1.5);
    EXPECT_DOUBLE_EQ(n[2], 1.0);  // a restarted code counts as used once at its new value
    EXPECT_EQ(m[2], e[2]);
    ASSERT_TRUE(e[2] == 1 || e[2] == 3 || e[2] == 11) << e[2];
    ++chosen[e[2] == 1 ? 0 : e[2] == 3 ? 1 : 2];
  }
  for (int c : chosen) EXPECT_GT(c, 0);  // every batch row gets drawn for some seed
  // A threshold above every count restarts them all.
  Rng rng(1);
  nn::VectorQuantizer all = hand_case(0.5, 10.0);
  EXPECT_EQ(all.ema_update(z, all.nearest(z), rng), 3);
  for (double v : all.cluster_size().to_double_vector()) EXPECT_EQ(v, 1.0);
}

VqVaeConfig small_config() {
  return VqVaeConfig::from_json({{"channels", 8}, {"codebook_size", 32}, {"code_dim", 8}});
}

// Per-pixel MSE of predicting every test image by the training set's mean image.
double mean_image_mse(const VisionData& train, const VisionData& test) {
  const auto x = train.images.to_double_vector(), t = test.images.to_double_vector();
  std::vector<double> mean(784, 0.0);
  for (size_t i = 0; i < x.size(); ++i) mean[i % 784] += x[i] / static_cast<double>(train.size());
  double se = 0;
  for (size_t i = 0; i < t.size(); ++i) se += (t[i] - mean[i % 784]) * (t[i] - mean[i % 784]);
  return se / static_cast<double>(t.size());
}

TEST(VqVae, ShortRunBeatsTheMeanImageAndRoundTrips) {
  Rng rng(3);
  VqVae model(small_config(), rng);
  const VisionData train = small_set(true, 2048), test = small_set(false, 300);
  VisionTrainOptions o;
  o.batch = 32;
  o.max_steps = 200;
  o.log_every = 10;
  const VisionRun run = train_vision_model(model, train, test, o);
  const double baseline = mean_image_mse(train, test);
  const double mse = run.metrics["test_mse"].get<double>();
  EXPECT_LT(mse, 0.75 * baseline) << "baseline " << baseline;
  EXPECT_LT(run.losses.back(), run.losses.front());
  EXPECT_GT(run.metrics["codebook_perplexity"].get<double>(), 2.0);
  EXPECT_LE(run.metrics["codebook_perplexity"].get<double>(), run.metrics["codes_used"].get<double>() + 1e-9);
  EXPECT_LE(run.metrics["codes_used"].get<int64_t>(), 32);

  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("vqvae_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  save_vision_run(dir.string(), model, o, run);
  auto loaded = load_vision_model(dir.string());
  Rng r1(0), r2(0);
  EXPECT_EQ(loaded->evaluate(test, r1), model.evaluate(test, r2));  // bit for bit
  EXPECT_EQ(loaded->config(), model.config());
  for (auto& [name, t] : model.buffers()) EXPECT_EQ(loaded->buffers().at(name).to_double_vector(), t.to_double_vector()) << name;
  // The trained codebook differs from a fresh one (so the equality above needs the buffers reloaded).
  Rng fresh_rng(0);
  VqVae fresh(small_config(), fresh_rng);
  EXPECT_NE(fresh.quantizer().codebook().to_double_vector(), model.quantizer().codebook().to_double_vector());
  const Tensor recon = loaded->reconstruct(test.images.narrow(0, 0, 4).contiguous());
  EXPECT_EQ(recon.shape(), (Shape{4, 28, 28}));
  std::filesystem::remove_all(dir);
}

TEST(VqVae, BadConfigsAndMisuseAreErrors) {
  Rng rng(0);
  for (const json& bad : {json{{"decay", 1.0}}, json{{"decay", -0.1}}, json{{"epsilon", 0.0}}, json{{"codebook_size", 1}},
                          json{{"beta", -1.0}}, json{{"code_dim", 0}}, json{{"dead_threshold", -1.0}},
                          json{{"codebok_size", 8}}, json{{"channels", 2.5}}})
    EXPECT_THROW(make_vision_model("vqvae", bad, rng), Error) << bad.dump();
  auto model = make_vision_model("vqvae", {{"channels", 4}, {"codebook_size", 4}, {"code_dim", 2}}, rng);
  EXPECT_THROW(model->sample(4, rng), Error);
  EXPECT_THROW(model->reconstruct(Tensor::zeros({2, 1, 32, 32})), Error);
  EXPECT_THROW(make_vision_model("vae", {}, rng)->reconstruct(Tensor::zeros({2, 1, 28, 28})), Error);
}

}  // namespace
}  // namespace rotor::models
