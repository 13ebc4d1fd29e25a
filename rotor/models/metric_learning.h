#pragma once
// Small metric-learning experiments on Fashion-MNIST (issue 15 parts 3 and 4), built on rotor/autograd
// and rotor/nn. The backbone is an MLP 784 -> hidden (ReLU) -> dim whose output is the embedding (the
// "penultimate features" a margin head classifies); it stands in for the vision issue's CNN.
//
// Margin heads (`rotor margin`): backbone + MarginHead trained with Adam on cross-entropy of the head's
// training logits; reported: test accuracy from the head's evaluation logits, and TAR at FAR 1e-3 on
// every pair of `pair_images` test images (cosine similarity of embeddings; same class = genuine pair):
// the threshold is the similarity exceeded by a fraction 1e-3 of the impostor pairs.
//
// Surrogates (`rotor surrogate`): one class against the rest at 1:ratio (positives subsampled in train
// and test), a scorer backbone -> 1 logit trained on ce (binary cross-entropy), soft_acc, soft_f1 or
// auc (the pairwise sigmoid surrogate); reported: test accuracy and F1 at logit 0 and exact AUC (ties
// count one half). Batches without both classes are skipped by the AUC loss.
// The multiclass task (`--task multiclass`): all ten classes, long-tailed, class c keeping the first
// round(n_c ratio^(-c/9)) of its images in train and test (class 0 all, class 9 1/ratio of them); a scorer
// backbone -> 10 logits trained on ce (softmax cross-entropy), soft_acc or soft_f1 (soft macro F1);
// reported: test accuracy (argmax), macro F1 (the mean over classes of the hard per-class F1) and the
// balanced accuracy (mean per-class recall). auc is binary only (an error here).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rotor/core/tensor.h"
#include "rotor/nn/margin.h"

namespace rotor::models {

// Images as [N, 784] f32 in [0, 1] and their labels.
struct LabeledImages {
  Tensor x;
  std::vector<int64_t> y;
};
// The first `limit` images of a split (all when limit <= 0 or larger than the split).
LabeledImages load_fashion_mnist_flat(const std::string& dir, bool train, int64_t limit);
// Rows `rows` of a set.
LabeledImages take_rows(const LabeledImages& set, const std::vector<int64_t>& rows);

struct MarginExperimentOptions {
  nn::MarginOptions head;
  int64_t hidden = 256, dim = 64;
  int64_t epochs = 5, batch = 128;
  double lr = 1e-3;
  uint64_t seed = 1;
  int64_t pair_images = 3000;  // test images whose pairs give TAR@FAR
  double far = 1e-3;
};
struct MarginExperimentResult {
  double test_accuracy = 0, tar = 0, threshold = 0;
  int64_t genuine_pairs = 0, impostor_pairs = 0;
  double final_loss = 0;
};
using EpochCallback = std::function<void(int64_t epoch, double mean_loss)>;
MarginExperimentResult run_margin_experiment(const LabeledImages& train, const LabeledImages& test,
                                             const MarginExperimentOptions& o, const EpochCallback& on_epoch = {});

// TAR at a FAR: similarities of genuine and impostor pairs. Throws without impostor pairs.
double tar_at_far(const std::vector<double>& genuine, std::vector<double> impostor, double far, double* threshold);

enum class SurrogateLoss { ce, soft_acc, soft_f1, auc };
SurrogateLoss parse_surrogate_loss(const std::string& name);  // throws rotor::Error on unknown names

struct SurrogateExperimentOptions {
  SurrogateLoss loss = SurrogateLoss::ce;
  int64_t positive_class = 6;  // Fashion-MNIST "Shirt"
  int64_t ratio = 20;          // negatives per positive
  int64_t hidden = 64;
  int64_t epochs = 10, batch = 512;
  double lr = 1e-3;
  double tau = 1.0;            // auc surrogate temperature
  uint64_t seed = 1;
  bool multiclass = false;     // the long-tailed ten-class task instead of one class against the rest
};
struct SurrogateExperimentResult {
  double accuracy = 0, f1 = 0, auc = 0;  // binary task
  int64_t train_positives = 0, train_negatives = 0, test_positives = 0, test_negatives = 0;
  double macro_f1 = 0, balanced_accuracy = 0;  // multiclass task (and accuracy)
  std::vector<int64_t> train_per_class, test_per_class;
};
SurrogateExperimentResult run_surrogate_experiment(const LabeledImages& train, const LabeledImages& test,
                                                   const SurrogateExperimentOptions& o,
                                                   const EpochCallback& on_epoch = {});

// Exact ROC AUC of scores against 0/1 labels (ties count one half).
double exact_auc(const std::vector<double>& scores, const std::vector<int64_t>& labels);

}  // namespace rotor::models
