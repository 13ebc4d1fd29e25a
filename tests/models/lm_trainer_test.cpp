// Training the transformer end to end: the loss falls on a learnable text, and a run saved and resumed
// continues exactly as the uninterrupted run (same losses, bit-identical parameters).
#include "rotor/models/lm_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <unistd.h>
#include <filesystem>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/io/safetensors.h"

namespace rotor {
namespace {

using rotor::models::ByteCorpus;
using rotor::models::TrainOptions;
using rotor::models::Transformer;
using rotor::models::TransformerConfig;
using rotor::models::load_model;
using rotor::models::save_model;
namespace fs = std::filesystem;

ByteCorpus pattern_corpus() {
  ByteCorpus c;
  c.source = "<pattern>";
  const std::string unit = "the quick brown fox jumps over the lazy dog. ";
  std::string text;
  while (text.size() < 4000) text += unit;
  c.train.assign(text.begin(), text.begin() + 3500);
  c.val.assign(text.begin() + 3500, text.end());
  return c;
}

TransformerConfig small_config() {
  TransformerConfig c;
  c.layers = 2;
  c.dim = 32;
  c.heads = 4;
  c.kv_heads = 2;
  c.ctx = 16;
  return c;
}

TrainOptions small_options() {
  TrainOptions o;
  o.batch = 4;
  o.steps = 80;
  o.warmup = 5;
  o.lr = 3e-3;
  o.lr_min = 3e-4;
  o.eval_batches = 2;
  return o;
}

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("rotor_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p.string();
}

// These tiny models are dominated by threading overhead; one thread keeps the tests quick.
class LmTrainer : public ::testing::Test {
 protected:
  void SetUp() override { set_num_threads(1); }
  void TearDown() override { set_num_threads(0); }
};

TEST_F(LmTrainer, LossFallsOnLearnableText) {
  const ByteCorpus corpus = pattern_corpus();
  Transformer model(small_config());
  models::LmTrainer trainer(model, corpus, small_options());
  const double val_before = trainer.validation_loss();
  double first = 0, last = 0;
  for (int i = 0; i < 80; ++i) {
    const double loss = trainer.train_step();
    if (i == 0) first = loss;
    last = loss;
  }
  EXPECT_NEAR(first, std::log(256.0), 0.5);  // initial loss of a near-uniform byte model
  EXPECT_LT(last, 0.5 * first);
  EXPECT_LT(trainer.validation_loss(), 0.5 * val_before);
  EXPECT_EQ(trainer.metrics().size(), 80u);
}

TEST_F(LmTrainer, ResumeContinuesExactly) {
  const ByteCorpus corpus = pattern_corpus();
  TrainOptions opt = small_options();
  opt.steps = 8;
  Transformer straight_model(small_config());
  models::LmTrainer straight(straight_model, corpus, opt);
  std::vector<double> straight_losses;
  for (int i = 0; i < 8; ++i) straight_losses.push_back(straight.train_step());

  const std::string dir = temp_dir("resume");
  {
    Transformer m(small_config());
    models::LmTrainer first_half(m, corpus, opt);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(first_half.train_step(), straight_losses[i]);
    first_half.save(dir);
  }
  Transformer m(small_config());
  models::LmTrainer second_half(m, corpus, opt);
  second_half.restore(dir);
  EXPECT_EQ(second_half.step(), 4);
  EXPECT_EQ(second_half.metrics().size(), 4u);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(second_half.train_step(), straight_losses[i]) << "step " << i + 1;
  EXPECT_EQ(std::memcmp(m.params(), straight_model.params(), sizeof(float) * m.num_parameters()), 0);
  fs::remove_all(dir);
}

TEST_F(LmTrainer, LoadModelRejectsMismatchedTensors) {
  const std::string dir = temp_dir("mismatch");
  Transformer model(small_config());
  Rng rng(1);
  model.init_parameters(rng);
  save_model(model, dir);
  auto loaded = load_model(dir);
  EXPECT_EQ(std::memcmp(loaded->params(), model.params(), sizeof(float) * model.num_parameters()), 0);
  io::TensorMap tensors = io::load_safetensors(dir + "/model.safetensors");
  tensors.erase("layers.1.mlp.up.weight");
  io::save_safetensors(dir + "/model.safetensors", tensors);
  try {
    load_model(dir);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers.1.mlp.up.weight"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST_F(LmTrainer, RejectsContextLongerThanData) {
  ByteCorpus tiny;
  tiny.source = "tiny.txt";
  tiny.train.assign(10, 'a');
  tiny.val.assign(10, 'b');
  Transformer model(small_config());
  EXPECT_THROW(models::LmTrainer(model, tiny, small_options()), Error);
}

}  // namespace
}  // namespace rotor
