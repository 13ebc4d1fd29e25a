#include "rotor/models/metric_learning.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/losses.h"
#include "rotor/autograd/views.h"
#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/io/idx.h"
#include "rotor/nn/layers.h"
#include "rotor/nn/surrogates.h"
#include "rotor/optim/optimizer.h"

namespace rotor::models {

using autograd::Var;

LabeledImages load_fashion_mnist_flat(const std::string& dir, bool train, int64_t limit) {
  const io::ImageSet set = io::load_fashion_mnist(dir, train);
  const int64_t total = set.images.size(0);
  const int64_t n = (limit <= 0 || limit > total) ? total : limit;
  const int64_t pixels = set.images.numel() / total;
  const std::vector<float> px = set.images.narrow(0, 0, n).to_float_vector();
  std::vector<float> scaled(px.size());
  for (size_t i = 0; i < px.size(); ++i) scaled[i] = px[i] / 255.0f;
  LabeledImages out{Tensor::from_vector(scaled, {n, pixels}), {}};
  const auto labels = set.labels.narrow(0, 0, n).to_double_vector();
  for (double v : labels) out.y.push_back(static_cast<int64_t>(v));
  return out;
}

LabeledImages take_rows(const LabeledImages& set, const std::vector<int64_t>& rows) {
  const int64_t d = set.x.size(1);
  std::vector<float> x(rows.size() * static_cast<size_t>(d));
  const float* src = set.x.contiguous().data<float>();
  LabeledImages out;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(src + rows[r] * d, d, x.begin() + static_cast<std::ptrdiff_t>(r * d));
    out.y.push_back(set.y[static_cast<size_t>(rows[r])]);
  }
  out.x = Tensor::from_vector(x, {static_cast<int64_t>(rows.size()), d});
  return out;
}

namespace {

class Backbone : public nn::Module {
 public:
  Backbone(int64_t in, int64_t hidden, int64_t out, Rng& rng)
      : fc1_(add_module("fc1", std::make_shared<nn::Linear>(in, hidden, true, rng))),
        fc2_(add_module("fc2", std::make_shared<nn::Linear>(hidden, out, true, rng))) {}
  Var forward(const Var& x) const { return fc2_->forward(autograd::relu(fc1_->forward(x))); }

 private:
  std::shared_ptr<nn::Linear> fc1_, fc2_;
};

std::vector<int64_t> shuffled(int64_t n, Rng& rng) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[static_cast<size_t>(i)], order[rng.uniform_int(static_cast<uint64_t>(i + 1))]);
  return order;
}

Tensor ids_tensor(const std::vector<int64_t>& y) { return Tensor::from_vector(y, {static_cast<int64_t>(y.size())}); }

// Runs `epochs` of minibatch training: step(batch) returns the loss (undefined: skip the batch).
void train_loop(const LabeledImages& train, int64_t epochs, int64_t batch, Rng& rng, optim::Optimizer& opt,
                const std::function<Var(const LabeledImages&)>& loss_of, const EpochCallback& on_epoch,
                double* final_loss) {
  const int64_t n = train.x.size(0);
  for (int64_t e = 0; e < epochs; ++e) {
    const auto order = shuffled(n, rng);
    double sum = 0;
    int64_t count = 0;
    for (int64_t start = 0; start < n; start += batch) {
      const std::vector<int64_t> rows(order.begin() + start, order.begin() + std::min(n, start + batch));
      const Var loss = loss_of(take_rows(train, rows));
      if (!loss.defined()) continue;
      opt.zero_grad();
      loss.backward();
      opt.step();
      const double v = loss.item();
      ROTOR_CHECK(std::isfinite(v), "training diverged (loss ", v, ") in epoch ", e + 1);
      sum += v;
      ++count;
    }
    if (final_loss) *final_loss = count ? sum / count : 0;
    if (on_epoch) on_epoch(e + 1, count ? sum / count : 0);
  }
}

}  // namespace

double tar_at_far(const std::vector<double>& genuine, std::vector<double> impostor, double far, double* threshold) {
  ROTOR_CHECK(!impostor.empty() && !genuine.empty(), "TAR@FAR needs genuine and impostor pairs");
  ROTOR_CHECK(far > 0 && far < 1, "FAR must be in (0, 1), got ", far);
  // The threshold t accepts (similarity > t) at most far * |impostor| impostor pairs.
  const auto allowed = static_cast<size_t>(std::floor(far * static_cast<double>(impostor.size())));
  std::sort(impostor.begin(), impostor.end(), std::greater<double>());
  const double t = impostor[std::min(allowed, impostor.size() - 1)];
  if (threshold) *threshold = t;
  const auto accepted = std::count_if(genuine.begin(), genuine.end(), [t](double s) { return s > t; });
  return static_cast<double>(accepted) / static_cast<double>(genuine.size());
}

MarginExperimentResult run_margin_experiment(const LabeledImages& train, const LabeledImages& test,
                                             const MarginExperimentOptions& o, const EpochCallback& on_epoch) {
  ROTOR_CHECK(o.epochs > 0 && o.batch > 0 && o.dim > 0 && o.hidden > 0, "margin experiment: sizes must be positive");
  Rng rng(o.seed);
  int64_t classes = 0;
  for (int64_t v : train.y) classes = std::max(classes, v + 1);
  Backbone net(train.x.size(1), o.hidden, o.dim, rng);
  nn::MarginHead head(o.dim, classes, o.head, rng);
  std::vector<Var> params = net.parameters();
  for (const Var& p : head.parameters()) params.push_back(p);
  optim::Adam opt(params, o.lr);
  MarginExperimentResult r;
  train_loop(train, o.epochs, o.batch, rng, opt, [&](const LabeledImages& b) {
    const Tensor y = ids_tensor(b.y);
    return autograd::cross_entropy(head.forward(net.forward(Var(b.x)), y), y);
  }, on_epoch, &r.final_loss);

  autograd::NoGradGuard no_grad;
  head.eval();
  const Var emb = net.forward(Var(test.x));
  const Tensor logits = head.eval_logits(emb).value().contiguous();
  const int64_t n = test.x.size(0), c = logits.size(1);
  const auto lv = logits.to_double_vector();
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto row = lv.begin() + i * c;
    if (std::max_element(row, row + c) - row == test.y[static_cast<size_t>(i)]) ++correct;
  }
  r.test_accuracy = static_cast<double>(correct) / static_cast<double>(n);
  const int64_t m = std::min(n, o.pair_images);
  const Var u = nn::l2_normalize(autograd::narrow(emb, 0, 0, m));
  const auto sim = autograd::matmul(u, autograd::transpose(u, 0, 1)).value().to_double_vector();
  std::vector<double> genuine, impostor;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = i + 1; j < m; ++j)
      (test.y[static_cast<size_t>(i)] == test.y[static_cast<size_t>(j)] ? genuine : impostor)
          .push_back(sim[static_cast<size_t>(i * m + j)]);
  r.genuine_pairs = static_cast<int64_t>(genuine.size());
  r.impostor_pairs = static_cast<int64_t>(impostor.size());
  r.tar = tar_at_far(genuine, std::move(impostor), o.far, &r.threshold);
  return r;
}

SurrogateLoss parse_surrogate_loss(const std::string& name) {
  if (name == "ce") return SurrogateLoss::ce;
  if (name == "soft_acc") return SurrogateLoss::soft_acc;
  if (name == "soft_f1") return SurrogateLoss::soft_f1;
  if (name == "auc") return SurrogateLoss::auc;
  throw Error("unknown loss '" + name + "' (ce, soft_acc, soft_f1, auc)");
}

double exact_auc(const std::vector<double>& scores, const std::vector<int64_t>& labels) {
  ROTOR_CHECK(scores.size() == labels.size(), "exact_auc: ", scores.size(), " scores but ", labels.size(), " labels");
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney: sum of the positives' mid-ranks.
  double rank_sum = 0;
  int64_t pos = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double mid = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2;  // ranks i+1..j
    for (size_t k = i; k < j; ++k)
      if (labels[order[k]] == 1) {
        rank_sum += mid;
        ++pos;
      }
    i = j;
  }
  const int64_t neg = static_cast<int64_t>(scores.size()) - pos;
  ROTOR_CHECK(pos > 0 && neg > 0, "exact_auc: needs both positive and negative labels");
  return (rank_sum - static_cast<double>(pos) * static_cast<double>(pos + 1) / 2) /
         (static_cast<double>(pos) * static_cast<double>(neg));
}

namespace {

// The binary subset: every negative, positives subsampled to |negatives| / ratio (the first ones).
LabeledImages imbalanced(const LabeledImages& set, int64_t positive, int64_t ratio, int64_t* npos, int64_t* nneg) {
  std::vector<int64_t> pos, neg;
  for (size_t i = 0; i < set.y.size(); ++i) (set.y[i] == positive ? pos : neg).push_back(static_cast<int64_t>(i));
  const auto keep = static_cast<size_t>(std::max<int64_t>(1, static_cast<int64_t>(neg.size()) / ratio));
  ROTOR_CHECK(!pos.empty() && !neg.empty(), "class ", positive, " has no positives or no negatives in the data");
  pos.resize(std::min(pos.size(), keep));
  std::vector<int64_t> rows = neg;
  rows.insert(rows.end(), pos.begin(), pos.end());
  std::sort(rows.begin(), rows.end());
  LabeledImages out = take_rows(set, rows);
  for (int64_t& v : out.y) v = v == positive ? 1 : 0;
  *npos = static_cast<int64_t>(pos.size());
  *nneg = static_cast<int64_t>(neg.size());
  return out;
}

// The long-tailed ten-class subset: the first round(n_c ratio^(-c/9)) images of class c (at least one).
LabeledImages long_tailed(const LabeledImages& set, int64_t ratio, std::vector<int64_t>* kept) {
  std::vector<std::vector<int64_t>> by_class(10);
  for (size_t i = 0; i < set.y.size(); ++i) {
    ROTOR_CHECK(set.y[i] >= 0 && set.y[i] < 10, "label ", set.y[i], " is not a class id 0..9");
    by_class[static_cast<size_t>(set.y[i])].push_back(static_cast<int64_t>(i));
  }
  std::vector<int64_t> rows;
  kept->assign(10, 0);
  for (size_t c = 0; c < 10; ++c) {
    ROTOR_CHECK(!by_class[c].empty(), "class ", c, " has no images in the data");
    const double share = std::pow(static_cast<double>(ratio), -static_cast<double>(c) / 9.0);
    const auto keep = static_cast<size_t>(std::max<double>(1, std::round(static_cast<double>(by_class[c].size()) * share)));
    by_class[c].resize(std::min(by_class[c].size(), keep));
    (*kept)[c] = static_cast<int64_t>(by_class[c].size());
    rows.insert(rows.end(), by_class[c].begin(), by_class[c].end());
  }
  std::sort(rows.begin(), rows.end());
  return take_rows(set, rows);
}

SurrogateExperimentResult run_multiclass_surrogate(const LabeledImages& train_all, const LabeledImages& test_all,
                                                   const SurrogateExperimentOptions& o, const EpochCallback& on_epoch) {
  ROTOR_CHECK(o.loss != SurrogateLoss::auc, "the auc surrogate is binary only (use --task binary)");
  SurrogateExperimentResult r;
  const LabeledImages train = long_tailed(train_all, o.ratio, &r.train_per_class);
  const LabeledImages test = long_tailed(test_all, o.ratio, &r.test_per_class);
  Rng rng(o.seed);
  Backbone net(train.x.size(1), o.hidden, 10, rng);
  optim::Adam opt(net.parameters(), o.lr);
  train_loop(train, o.epochs, o.batch, rng, opt, [&](const LabeledImages& b) -> Var {
    const Var logits = net.forward(Var(b.x));
    const Tensor y = ids_tensor(b.y);
    switch (o.loss) {
      case SurrogateLoss::ce: return autograd::cross_entropy(logits, y);
      case SurrogateLoss::soft_acc: return nn::soft_accuracy_loss(logits, y);
      case SurrogateLoss::soft_f1: return nn::soft_macro_f1_loss(logits, y);
      case SurrogateLoss::auc: break;
    }
    return Var();
  }, on_epoch, nullptr);

  autograd::NoGradGuard no_grad;
  const Tensor logits = net.forward(Var(test.x)).value().contiguous();
  const float* l = logits.data<float>();
  std::vector<int64_t> tp(10, 0), fp(10, 0), fn(10, 0), count(10, 0);
  int64_t correct = 0;
  for (size_t i = 0; i < test.y.size(); ++i) {
    const int64_t pred = std::max_element(l + i * 10, l + i * 10 + 10) - (l + i * 10), truth = test.y[i];
    ++count[static_cast<size_t>(truth)];
    if (pred == truth) {
      ++correct;
      ++tp[static_cast<size_t>(truth)];
    } else {
      ++fp[static_cast<size_t>(pred)];
      ++fn[static_cast<size_t>(truth)];
    }
  }
  for (size_t c = 0; c < 10; ++c) {
    const int64_t denominator = 2 * tp[c] + fp[c] + fn[c];
    r.macro_f1 += denominator ? 2.0 * static_cast<double>(tp[c]) / static_cast<double>(denominator) : 0.0;
    r.balanced_accuracy += static_cast<double>(tp[c]) / static_cast<double>(count[c]);
  }
  r.macro_f1 /= 10;
  r.balanced_accuracy /= 10;
  r.accuracy = static_cast<double>(correct) / static_cast<double>(test.y.size());
  return r;
}

}  // namespace

SurrogateExperimentResult run_surrogate_experiment(const LabeledImages& train_all, const LabeledImages& test_all,
                                                   const SurrogateExperimentOptions& o, const EpochCallback& on_epoch) {
  ROTOR_CHECK(o.positive_class >= 0 && o.positive_class <= 9, "--positive must be a class id 0..9, got ", o.positive_class);
  ROTOR_CHECK(o.ratio >= 1, "--ratio must be >= 1, got ", o.ratio);
  if (o.multiclass) return run_multiclass_surrogate(train_all, test_all, o, on_epoch);
  SurrogateExperimentResult r;
  const LabeledImages train = imbalanced(train_all, o.positive_class, o.ratio, &r.train_positives, &r.train_negatives);
  const LabeledImages test = imbalanced(test_all, o.positive_class, o.ratio, &r.test_positives, &r.test_negatives);
  Rng rng(o.seed);
  Backbone net(train.x.size(1), o.hidden, 1, rng);
  optim::Adam opt(net.parameters(), o.lr);
  train_loop(train, o.epochs, o.batch, rng, opt, [&](const LabeledImages& b) -> Var {
    const Var s = autograd::reshape(net.forward(Var(b.x)), {-1});
    const Tensor y = ids_tensor(b.y);
    switch (o.loss) {
      case SurrogateLoss::ce: return autograd::binary_cross_entropy_with_logits(s, Var(y.to(DType::f32)));
      case SurrogateLoss::soft_acc: return nn::soft_binary_accuracy_loss(s, y);
      case SurrogateLoss::soft_f1: return nn::soft_binary_f1_loss(s, y);
      case SurrogateLoss::auc: {
        const int64_t p = std::count(b.y.begin(), b.y.end(), 1);
        if (p == 0 || p == static_cast<int64_t>(b.y.size())) return Var();
        return nn::pairwise_auc_loss(s, y, o.tau);
      }
    }
    return Var();
  }, on_epoch, nullptr);

  autograd::NoGradGuard no_grad;
  const auto scores = autograd::reshape(net.forward(Var(test.x)), {-1}).value().to_double_vector();
  int64_t tp = 0, fp = 0, fn = 0, correct = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool pred = scores[i] > 0, truth = test.y[i] == 1;
    correct += pred == truth;
    tp += pred && truth;
    fp += pred && !truth;
    fn += !pred && truth;
  }
  r.accuracy = static_cast<double>(correct) / static_cast<double>(scores.size());
  r.f1 = tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
  r.auc = exact_auc(scores, test.y);
  return r;
}

}  // namespace rotor::models
