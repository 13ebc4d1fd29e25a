#include "rotor/models/text_classifier.h"

#include <algorithm>
#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/optim/optimizer.h"
#include "rotor/optim/clip.h"
#include "rotor/optim/schedule.h"

namespace rotor::models {

namespace ag = rotor::autograd;
using ag::Var;

TextClassifier::TextClassifier(std::shared_ptr<AutogradGpt> encoder, int64_t classes, Rng& rng)
    : encoder_(add_module("encoder", std::move(encoder))) {
  ROTOR_CHECK(encoder_->bidirectional(), "text classifier: the encoder must be bidirectional (a masked-LM model)");
  ROTOR_CHECK(classes >= 2, "text classifier: needs >= 2 classes, got ", classes);
  classifier_ = add_module("classifier", std::make_shared<nn::Linear>(encoder_->config().dim, classes, true, rng));
}

Var TextClassifier::forward(const Tensor& ids) const {
  return classifier_->forward(ag::mean(encoder_->hidden(ids), {1}));  // [B, T, dim] -> [B, dim] -> [B, classes]
}

std::vector<Var> TextClassifier::decayed_parameters() const {
  std::vector<Var> p = encoder_->decayed_parameters();
  for (const auto& [name, v] : classifier_->named_parameters())
    if (name == "weight") p.push_back(v);
  return p;
}

std::vector<Var> TextClassifier::undecayed_parameters() const {
  std::vector<Var> p = encoder_->undecayed_parameters();
  for (const auto& [name, v] : classifier_->named_parameters())
    if (name == "bias") p.push_back(v);
  return p;
}

namespace {

// Rows `rows` of data as ids [B, T] (i32) and labels [B] (i64).
std::pair<Tensor, Tensor> gather_rows(const LabeledSequences& data, const std::vector<int64_t>& rows) {
  const int64_t T = data.length, B = int64_t(rows.size());
  std::vector<int32_t> ids(size_t(B * T));
  std::vector<int64_t> labels(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    std::copy_n(data.ids.begin() + rows[size_t(b)] * T, T, ids.begin() + b * T);
    labels[size_t(b)] = data.labels[size_t(rows[size_t(b)])];
  }
  return {Tensor::from_vector(ids, {B, T}), Tensor::from_vector(labels, {B})};
}

}  // namespace

std::pair<double, double> evaluate_classifier(const TextClassifier& model, const LabeledSequences& data) {
  ROTOR_CHECK(data.size() >= 1, "text classifier: no sequences to evaluate");
  ag::NoGradGuard no_grad;
  constexpr int64_t kBatch = 64;
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < data.size(); start += kBatch) {
    std::vector<int64_t> rows;
    for (int64_t r = start; r < std::min(data.size(), start + kBatch); ++r) rows.push_back(r);
    const auto [ids, labels] = gather_rows(data, rows);
    const Var logits = model.forward(ids);
    loss_sum += ag::cross_entropy(logits, labels).item() * double(rows.size());
    const Tensor l = logits.value().contiguous();
    const int64_t C = l.size(1);
    const float* p = l.data<float>();
    for (size_t b = 0; b < rows.size(); ++b) {
      const float* row = p + int64_t(b) * C;
      correct += int64_t(std::max_element(row, row + C) - row) == data.labels[size_t(rows[b])];
    }
  }
  return {loss_sum / double(data.size()), double(correct) / double(data.size())};
}

FinetuneResult finetune_classifier(TextClassifier& model, const LabeledSequences& train, const LabeledSequences& test,
                                   const FinetuneOptions& opt, const std::function<void(int64_t, double)>& on_step) {
  ROTOR_CHECK(opt.steps >= 1 && opt.batch >= 1, "finetune: steps and batch must be >= 1");
  ROTOR_CHECK(train.size() >= 1 && test.size() >= 1, "finetune: empty training or test split");
  ROTOR_CHECK(train.length <= model.encoder().config().ctx, "finetune: sequences of ", train.length,
              " bytes are longer than the encoder's context ", model.encoder().config().ctx);
  optim::AdamOptions adam{0.9, 0.999, 1e-8, opt.weight_decay, true};
  optim::Adam decay(model.decayed_parameters(), opt.lr, adam);
  adam.weight_decay = 0.0;
  optim::Adam rest(model.undecayed_parameters(), opt.lr, adam);
  const optim::WarmupCosine schedule{opt.lr, opt.lr_min, opt.warmup, opt.steps};
  Rng rng(opt.seed);
  std::vector<int64_t> rows(size_t(opt.batch));
  const int64_t tail_from = opt.steps - std::max<int64_t>(1, opt.steps / 10);
  double tail_sum = 0;
  for (int64_t step = 0; step < opt.steps; ++step) {
    for (int64_t& r : rows) r = int64_t(rng.uniform_int(uint64_t(train.size())));
    const auto [ids, labels] = gather_rows(train, rows);
    decay.zero_grad();
    rest.zero_grad();
    Var loss = ag::cross_entropy(model.forward(ids), labels);
    const double value = loss.item();
    ROTOR_CHECK(std::isfinite(value), "finetune: loss is ", value, " at step ", step + 1, " (try a lower --lr)");
    loss.backward();
    optim::clip_parameter_gradients(model.parameters(), opt.clip);
    const double lr = schedule.at(step);
    decay.set_lr(lr);
    rest.set_lr(lr);
    decay.step();
    rest.step();
    if (step >= tail_from) tail_sum += value;
    if (on_step) on_step(step + 1, value);
  }
  FinetuneResult result;
  result.final_train_loss = tail_sum / double(opt.steps - tail_from);
  std::tie(result.test_loss, result.test_accuracy) = evaluate_classifier(model, test);
  return result;
}

}  // namespace rotor::models
