// word2vec training: the SGD step against finite differences, and small runs that must learn a
// planted structure (words of one topic co-occur, so they must end up as each other's neighbours).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/models/word2vec.h"
#include "rotor/models/word2vec_eval.h"
#include "rotor/models/word2vec_kernels.h"

namespace rotor::w2v {
namespace {

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], AlignedFree>;
Buffer aligned_zeros(size_t n) {
  Buffer b(static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64)));
  std::fill(b.get(), b.get() + n, 0.0f);
  return b;
}

// L(h, O) = sum_k -log sigmoid(s_k h . o_k), s_k = +1 for label 1 and -1 for label 0, in double.
double reference_loss(const std::vector<double>& h, const std::vector<std::vector<double>>& rows,
                      const std::vector<float>& labels) {
  double loss = 0;
  for (size_t k = 0; k < rows.size(); ++k) {
    double f = 0;
    for (size_t d = 0; d < h.size(); ++d) f += h[d] * rows[k][d];
    const double s = labels[k] > 0.5f ? f : -f;
    loss += std::log1p(std::exp(-s));
  }
  return loss;
}

template <int NB>
void check_step_against_finite_differences() {
  constexpr int dim = 100, dp = 112, rows = 6;
  const float lr = 0.01f;
  Rng rng(11);
  Buffer h = aligned_zeros(dp), grad = aligned_zeros(dp), out = aligned_zeros(rows * dp);
  std::vector<double> h64(dim);
  std::vector<std::vector<double>> out64(rows, std::vector<double>(dim));
  for (int d = 0; d < dim; ++d) h64[d] = h[d] = static_cast<float>(0.3 * rng.normal());
  for (int k = 0; k < rows; ++k)
    for (int d = 0; d < dim; ++d) out64[k][d] = out[k * dp + d] = static_cast<float>(0.05 * rng.normal());
  const std::vector<float> labels = {1, 0, 0, 0, 0, 0};
  const int32_t targets[rows] = {0, 1, 2, 3, 4, 5};
  const SigmoidTable table;
  const double loss_before = reference_loss(h64, out64, labels);
  const float loss = train_targets<NB>(h.get(), grad.get(), out.get(), dp, targets, labels.data(), rows, lr, table, 7);
  EXPECT_NEAR(loss, loss_before, 0.05);

  const double eps = 1e-4;
  double dot = 0, norm_a = 0, norm_b = 0;
  for (int d = 0; d < dim; ++d) {
    auto hp = h64, hm = h64;
    hp[d] += eps;
    hm[d] -= eps;
    const double dl_dh = (reference_loss(hp, out64, labels) - reference_loss(hm, out64, labels)) / (2 * eps);
    EXPECT_NEAR(grad[d], -lr * dl_dh, lr * 0.012) << "grad component " << d;  // sigmoid table resolution
    dot += grad[d] * -dl_dh;
    norm_a += grad[d] * grad[d];
    norm_b += dl_dh * dl_dh;
  }
  EXPECT_GT(dot / std::sqrt(norm_a * norm_b), 0.999) << "the step must point down the gradient";
  for (int k = 0; k < rows; ++k) {
    for (int d = 0; d < dim; d += 7) {
      auto op = out64, om = out64;
      op[k][d] += eps;
      om[k][d] -= eps;
      const double dl_do = (reference_loss(h64, op, labels) - reference_loss(h64, om, labels)) / (2 * eps);
      EXPECT_NEAR(out[k * dp + d] - out64[k][d], -lr * dl_do, lr * 0.01) << "row " << k << " component " << d;
    }
    for (int d = dim; d < dp; ++d) EXPECT_EQ(out[k * dp + d], 0.0f) << "padding must stay zero";
  }
  // Applying the step lowers the loss.
  std::vector<double> h_after(dim);
  std::vector<std::vector<double>> out_after(rows, std::vector<double>(dim));
  for (int d = 0; d < dim; ++d) h_after[d] = h64[d] + grad[d];
  for (int k = 0; k < rows; ++k)
    for (int d = 0; d < dim; ++d) out_after[k][d] = out[k * dp + d];
  EXPECT_LT(reference_loss(h_after, out_after, labels), loss_before);
}

TEST(Word2VecTrain, SgnsStepMatchesFiniteDifferencesCompileTimeWidth) { check_step_against_finite_differences<7>(); }
TEST(Word2VecTrain, SgnsStepMatchesFiniteDifferencesRuntimeWidth) { check_step_against_finite_differences<0>(); }

TEST(Word2VecTrain, SigmoidTableIsCloseToSigmoid) {
  const SigmoidTable table;
  for (double x = -10; x <= 10; x += 0.013) {
    const double s = 1 / (1 + std::exp(-x));
    EXPECT_NEAR(table.sigmoid(static_cast<float>(x)), s, 0.0021) << x;
    if (std::abs(x) < 8) {
      EXPECT_NEAR(table.neg_log_sigmoid(static_cast<float>(x)), std::log1p(std::exp(-x)), 0.008) << x;
    }
  }
}

// Topics of 8 words; each sentence draws 12 words from one topic.
std::string topic_corpus(int topics, int sentences, uint64_t seed) {
  Rng rng(seed);
  std::string text;
  for (int s = 0; s < sentences; ++s) {
    const int t = static_cast<int>(rng.uniform_int(topics));
    for (int i = 0; i < 12; ++i) text += "t" + std::to_string(t) + "w" + std::to_string(rng.uniform_int(8)) + " ";
    text += "\n";
  }
  return text;
}

// Share of (word, one of its 3 nearest neighbours) pairs within the same topic.
double same_topic_neighbour_share(const WordVectors& v) {
  int same = 0, all = 0;
  for (const auto& word : v.words) {
    for (const auto& n : nearest_neighbors(v, word, 3)) {
      same += n.word.substr(0, n.word.find('w')) == word.substr(0, word.find('w'));
      ++all;
    }
  }
  return static_cast<double>(same) / all;
}

struct Variant {
  const char* name;
  bool cbow, hs;
  int negative, threads;
  double sample;
  int dim = 24;
};

TEST(Word2VecTrain, LearnsPlantedTopics) {
  const Corpus corpus = build_corpus(topic_corpus(6, 1500, 1), 1);
  ASSERT_EQ(corpus.vocab.size(), 48);
  const Variant variants[] = {{"skipgram+negative", false, false, 5, 1, 1e-3},
                              {"cbow+negative", true, false, 5, 1, 0},
                              {"skipgram+hs", false, true, 0, 1, 0},
                              {"cbow+hs+negative", true, true, 3, 1, 1e-3},
                              {"skipgram+negative, 2 threads", false, false, 5, 2, 1e-3},
                              {"skipgram+negative, dim 140 (runtime-width kernel)", false, false, 5, 1, 0, 140}};
  for (const auto& variant : variants) {
    TrainOptions o;
    o.dim = variant.dim;
    o.cbow = variant.cbow;
    o.hierarchical_softmax = variant.hs;
    o.negative = variant.negative;
    o.threads = variant.threads;
    o.sample = variant.sample;
    o.seed = 3;
    const TrainResult r = train(corpus, o);
    EXPECT_EQ(r.words_done, 5 * static_cast<int64_t>(corpus.ids.size())) << variant.name;
    EXPECT_EQ(r.vectors.size(), 48);
    EXPECT_LT(r.final_loss, 0.6) << variant.name << ": untrained loss is log 2 = 0.69 per prediction";
    EXPECT_GE(same_topic_neighbour_share(r.vectors), 0.95) << variant.name << " (random vectors: 7/47)";
  }
}

TEST(Word2VecTrain, SameSeedSameVectorsWithOneThread) {
  const Corpus corpus = build_corpus(topic_corpus(3, 200, 2), 1);
  TrainOptions o;
  o.dim = 20;  // not a multiple of 16: exercises the padding
  o.seed = 5;
  const TrainResult a = train(corpus, o), b = train(corpus, o);
  EXPECT_EQ(a.vectors.values, b.vectors.values);
  o.seed = 6;
  EXPECT_NE(train(corpus, o).vectors.values, a.vectors.values);
  int progress_calls = 0;
  train(corpus, o, [&](const TrainProgress& p) {
    ++progress_calls;
    EXPECT_LE(p.words_done, p.words_total);
    EXPECT_GT(p.learning_rate, 0);
    EXPECT_LE(p.learning_rate, 0.025);
  });
  EXPECT_GT(progress_calls, 0);
}

TEST(Word2VecTrain, RejectsBadOptionsAndTinyVocabularies) {
  const Corpus corpus = build_corpus(topic_corpus(2, 50, 3), 1);
  TrainOptions o;
  o.negative = 0;
  EXPECT_THROW(train(corpus, o), Error);  // nothing to train without --hs
  o = TrainOptions{};
  o.dim = 0;
  EXPECT_THROW(train(corpus, o), Error);
  o = TrainOptions{};
  o.window = 0;
  EXPECT_THROW(train(corpus, o), Error);
  o = TrainOptions{};
  o.sample = -1;
  EXPECT_THROW(train(corpus, o), Error);
  EXPECT_THROW(train(build_corpus("same same same", 1), TrainOptions{}), Error);
}

}  // namespace
}  // namespace rotor::w2v
