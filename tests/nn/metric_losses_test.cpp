// Metric surrogates (rotor/nn/surrogates.h) and contrastive losses (rotor/nn/contrastive.h): gradient
// checks in the registry and losses and gradients against PyTorch in f64 (tests/nn/margin_reference.json,
// written by tests/nn/make_margin_reference.py).
#include <gtest/gtest.h>

#include <cmath>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"
#include "rotor/nn/contrastive.h"
#include "rotor/nn/surrogates.h"
#include "tests/nn/json_reference.h"

namespace rotor::nn {
namespace {

using autograd::Var;
using autograd::VarList;
using testing_json::json;
using testing_json::tensor_of;

Tensor class_targets(int64_t n, int64_t c) {
  std::vector<int64_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 5 + 2) % c;
  return Tensor::from_vector(t, {n});
}
Tensor binary_targets(int64_t n) {
  std::vector<int64_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = i % 3 == 0 ? 1 : 0;
  return Tensor::from_vector(t, {n});
}

const bool registered = [] {
  auto& r = autograd::gradcheck_registry();
  r.add({"soft_accuracy_loss", "softmax", {{{7, 3}}, {{12, 5}}},
         [](const VarList& in) { return soft_accuracy_loss(in[0], class_targets(in[0].size(0), in[0].size(1))); }});
  r.add({"soft_macro_f1_loss", "softmax", {{{7, 3}}, {{12, 5}}},
         [](const VarList& in) { return soft_macro_f1_loss(in[0], class_targets(in[0].size(0), in[0].size(1))); }});
  r.add({"soft_binary_accuracy_loss", "sigmoid", {{{7}}, {{16}}},
         [](const VarList& in) { return soft_binary_accuracy_loss(in[0], binary_targets(in[0].size(0))); }});
  r.add({"soft_binary_f1_loss", "sigmoid", {{{7}}, {{16}}},
         [](const VarList& in) { return soft_binary_f1_loss(in[0], binary_targets(in[0].size(0))); }});
  r.add({"pairwise_auc_loss", "tau 0.5", {{{7}}, {{16}}},
         [](const VarList& in) { return pairwise_auc_loss(in[0], binary_targets(in[0].size(0)), 0.5); }});
  r.add({"clip_loss", "learnable scale", {{{5, 4}, {5, 4}, {1}}, {{8, 3}, {8, 3}, {1}}},
         [](const VarList& in) { return clip_loss(in[0], in[1], in[2]); }});
  r.add({"siglip_loss", "learnable scale and bias", {{{5, 4}, {5, 4}, {1}, {1}}, {{8, 3}, {8, 3}, {1}, {1}}},
         [](const VarList& in) { return siglip_loss(in[0], in[1], in[2], in[3]); }});
  r.add({"siglip_loss_chunked", "chunks of 3", {{{5, 4}, {5, 4}, {1}, {1}}, {{8, 3}, {8, 3}, {1}, {1}}},
         [](const VarList& in) { return siglip_loss_chunked(in[0], in[1], in[2], in[3], 3); }});
  return true;
}();

TEST(MetricLossGradcheck, Registered) { EXPECT_TRUE(registered); }

const json& reference() {
  static const json j = testing_json::read_reference("tests/nn/margin_reference.json");
  return j;
}

Tensor ints(const json& v) {
  return Tensor::from_vector(v.get<std::vector<int64_t>>(), {static_cast<int64_t>(v.size())});
}

// Builds leaves from the case's inputs, computes the loss with `fn` and compares loss and gradients.
void check_scalar_case(const json& c, const std::function<Var(const VarList&)>& fn) {
  SCOPED_TRACE(c["name"].get<std::string>());
  VarList in;
  for (const json& t : c["inputs"]) in.emplace_back(tensor_of(t), true);
  const Var loss = fn(in);
  const double want = c["loss"].get<double>();
  EXPECT_NEAR(loss.item(), want, 1e-6 * std::max(1.0, std::fabs(want)));
  loss.backward();
  for (size_t i = 0; i < in.size(); ++i)
    testing_json::expect_close(in[i].grad(), c["grads"][i], "gradient of input " + std::to_string(i), 1e-6);
}

TEST(MetricSurrogates, MatchPyTorch) {
  const json& cases = reference().at("surrogates");
  ASSERT_EQ(cases.size(), 14u);
  for (const json& c : cases) {
    const std::string name = c["name"].get<std::string>();
    check_scalar_case(c, [&](const VarList& in) {
      if (name == "soft_accuracy") return soft_accuracy_loss(in[0], ints(c["targets"]));
      if (name == "soft_macro_f1") return soft_macro_f1_loss(in[0], ints(c["targets"]));
      if (name == "soft_binary_accuracy") return soft_binary_accuracy_loss(in[0], ints(c["labels"]));
      if (name == "soft_binary_f1") return soft_binary_f1_loss(in[0], ints(c["labels"]));
      if (name == "pairwise_auc") return pairwise_auc_loss(in[0], ints(c["labels"]), c["tau"].get<double>());
      throw Error("unknown case " + name);
    });
  }
}

// The surrogates approach the hard metrics as the scores saturate.
TEST(MetricSurrogates, SaturatedScoresGiveTheHardMetrics) {
  // scores +-50: predictions 1 1 0 0 1 against labels 1 0 0 1 1 -> accuracy 3/5, F1 2*2/(2*2+1+1) = 2/3;
  // AUC: pairs (pos, neg) ranked right: positives {0, 3, 4}, negatives {1, 2}: score order gives
  // s0 = 50 vs s1 = 50 (a tie: sigmoid(0) = 1/2), s0 > s2, s3 < s1, s3 = s2 (tie), s4 = s1 (tie), s4 > s2.
  const Tensor labels = Tensor::from_vector(std::vector<int64_t>{1, 0, 0, 1, 1}, {5});
  const Var s(Tensor::from_vector(std::vector<double>{50, 50, -50, -50, 50}, {5}));
  EXPECT_NEAR(soft_binary_accuracy_loss(s, labels).item(), 1 - 3.0 / 5, 1e-12);
  EXPECT_NEAR(soft_binary_f1_loss(s, labels).item(), 1 - 2.0 / 3, 1e-6);
  EXPECT_NEAR(pairwise_auc_loss(s, labels, 1e-3).item(), 1 - (0.5 + 1 + 0 + 0.5 + 0.5 + 1) / 6, 1e-9);
  const Var logits(Tensor::from_vector(std::vector<double>{60, 0, 0, 0, 60, 0, 60, 0, 0}, {3, 3}));
  const Tensor y = Tensor::from_vector(std::vector<int64_t>{0, 1, 2}, {3});
  EXPECT_NEAR(soft_accuracy_loss(logits, y).item(), 1 - 2.0 / 3, 1e-12);
  // per class F1: class 0: tp 1, fp 1 -> 2/3; class 1: 1; class 2: tp 0 -> 0
  EXPECT_NEAR(soft_macro_f1_loss(logits, y).item(), 1 - (2.0 / 3 + 1 + 0) / 3, 1e-6);
}

TEST(MetricSurrogates, BadInput) {
  const Var s(Tensor::from_vector(std::vector<double>{1, 2, 3}, {3}));
  EXPECT_THROW(pairwise_auc_loss(s, Tensor::from_vector(std::vector<int64_t>{1, 1, 1}, {3})), Error);
  EXPECT_THROW(soft_binary_f1_loss(s, Tensor::from_vector(std::vector<int64_t>{1, 2, 0}, {3})), Error);
  EXPECT_THROW(soft_binary_f1_loss(s, Tensor::from_vector(std::vector<int64_t>{1, 0}, {2})), Error);
  const Var logits(Tensor::zeros({2, 3}, DType::f64));
  EXPECT_THROW(soft_accuracy_loss(logits, Tensor::from_vector(std::vector<int64_t>{0, 3}, {2})), Error);
  EXPECT_THROW(soft_macro_f1_loss(s, Tensor::from_vector(std::vector<int64_t>{0, 1, 2}, {3})), Error);
}

TEST(ContrastiveLosses, MatchPyTorch) {
  const json& cases = reference().at("contrastive");
  ASSERT_EQ(cases.size(), 8u);
  for (const json& c : cases) {
    const bool clip = c["name"].get<std::string>() == "clip";
    check_scalar_case(c, [&](const VarList& in) {
      return clip ? clip_loss(in[0], in[1], in[2]) : siglip_loss(in[0], in[1], in[2], in[3]);
    });
    if (!clip) {  // the chunked form gives the same loss and gradients, for several chunk sizes
      for (int64_t chunk : {1, 2, 4, 100})
        check_scalar_case(c, [&](const VarList& in) { return siglip_loss_chunked(in[0], in[1], in[2], in[3], chunk); });
    }
  }
}

TEST(ContrastiveLosses, ClampedScaleStopsTheGradient) {
  Rng rng(5);
  Var u(Tensor::from_vector(std::vector<double>{1, 0, 0, 1, 1, 1}, {3, 2}), true);
  Var v(Tensor::from_vector(std::vector<double>{1, 0.2, 0.1, 1, -1, 1}, {3, 2}), true);
  Var t(Tensor::from_vector(std::vector<double>{kClipMaxLogScale + 0.5}, {1}), true);
  clip_loss(u, v, t).backward();
  EXPECT_EQ(t.grad().item(), 0.0);
  Var t2(Tensor::from_vector(std::vector<double>{kClipInitLogScale}, {1}), true);
  clip_loss(u, v, t2).backward();
  EXPECT_NE(t2.grad().item(), 0.0);
}

TEST(ContrastiveLosses, BadInput) {
  const Var a(Tensor::zeros({3, 2}, DType::f64)), b(Tensor::zeros({4, 2}, DType::f64));
  const Var t(Tensor::zeros({1}, DType::f64)), t2(Tensor::zeros({2}, DType::f64));
  EXPECT_THROW(clip_loss(a, b, t), Error);
  EXPECT_THROW(clip_loss(a, a, t2), Error);
  EXPECT_THROW(siglip_loss(a, a, t, t2), Error);
  EXPECT_THROW(siglip_loss_chunked(a, a, t, t, 0), Error);
}

}  // namespace
}  // namespace rotor::nn
