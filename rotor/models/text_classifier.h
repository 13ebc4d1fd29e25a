#pragma once
// Sequence classification on a bidirectional encoder (`rotor finetune`): the mean of the encoder's final
// hidden states over the positions, then one linear layer to the classes:
//   logits [B, classes] = classifier(mean_t hidden(ids)[:, t, :])
// Fine-tuning trains every parameter (encoder and classifier) with AdamW (decay on matrices and
// embeddings), linear warmup and cosine decay, global-norm clipping, on batches drawn at random from the
// training split; f32 throughout.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "rotor/models/autograd_gpt.h"
#include "rotor/models/kjv_verses.h"
#include "rotor/nn/layers.h"

namespace rotor::models {

class TextClassifier : public nn::Module {
 public:
  // The encoder must be bidirectional; the classifier is initialised PyTorch-style from rng. Parameters are
  // named "encoder.*" and "classifier.weight" / "classifier.bias".
  TextClassifier(std::shared_ptr<AutogradGpt> encoder, int64_t classes, Rng& rng);
  autograd::Var forward(const Tensor& ids) const;  // ids: [B, T] -> logits [B, classes]
  const AutogradGpt& encoder() const { return *encoder_; }
  std::vector<autograd::Var> decayed_parameters() const;
  std::vector<autograd::Var> undecayed_parameters() const;

 private:
  std::shared_ptr<AutogradGpt> encoder_;
  std::shared_ptr<nn::Linear> classifier_;
};

struct FinetuneOptions {
  int64_t steps = 300, batch = 16, warmup = 30;
  double lr = 3e-4, lr_min = 3e-5, clip = 1.0, weight_decay = 0.01;
  uint64_t seed = 1;
};

struct FinetuneResult {
  double final_train_loss = 0;  // mean over the last 10% of the steps
  double test_loss = 0, test_accuracy = 0;
};

// Mean cross-entropy and accuracy (argmax) of the model over every sequence of `data`, without gradients.
std::pair<double, double> evaluate_classifier(const TextClassifier& model, const LabeledSequences& data);

// Trains on `train` for opt.steps steps, then evaluates on `test`. on_step(step, loss) is called after
// every step (may be empty). Throws when a loss is not finite.
FinetuneResult finetune_classifier(TextClassifier& model, const LabeledSequences& train, const LabeledSequences& test,
                                   const FinetuneOptions& opt,
                                   const std::function<void(int64_t, double)>& on_step = {});

}  // namespace rotor::models
