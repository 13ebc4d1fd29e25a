// Performer (FAVOR+): against FAVOR+ written as explicit sums in torch (tests/nn/make_mixer_reference.py),
// orthogonal random features, convergence to exact softmax attention as M grows, gradients against finite
// differences (gradcheck registry), causality, step() decoding, seeded redraws.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"
#include "rotor/nn/init.h"
#include "rotor/nn/performer.h"
#include "tests/nn/mixer_test_util.h"

namespace rotor::nn {
namespace {

namespace ag = rotor::autograd;
using namespace rotor::nn::testing;

void register_performer_gradchecks(ag::GradcheckRegistry& r) {
  r.add({"favor_features", "M 5, D 3 and M 3, D 2", {{{1, 2, 3, 3}, {5, 3}}, {{2, 1, 4, 2}, {3, 2}}},
         [](const ag::VarList& in) { return favor_features(in[0], in[1]); }});
  r.add({"performer_attention", "chunks of 2 (ragged end)",
         {{{1, 2, 5, 4}, {1, 2, 5, 4}, {1, 2, 5, 3}, {6, 4}}, {{2, 1, 4, 3}, {2, 1, 4, 3}, {2, 1, 4, 2}, {5, 3}}},
         [](const ag::VarList& in) { return performer_attention(in[0], in[1], in[2], in[3], 2); }});
}

const bool registered = (register_performer_gradchecks(ag::gradcheck_registry()), true);

TEST(Performer, MatchesTorchReference) {
  for (DType dtype : {DType::f32, DType::f64})
    for (int64_t chunk : {4, 16}) {
      SCOPED_TRACE(cat(dtype_name(dtype), " chunk ", chunk));
      expect_function_matches_reference(
          "performer", {"q", "k", "v", "w"},
          [chunk](const auto& in) { return performer_attention(in[0], in[1], in[2], in[3], chunk); }, dtype,
          dtype == DType::f32 ? 1e-4 : 1e-10);
    }
}

TEST(Performer, RandomFeaturesAreOrthogonalBlocksAndSeeded) {
  Rng rng(61), same(61);
  const int64_t M = 10, D = 4;
  const Tensor w = orthogonal_random_features(M, D, rng, DType::f64);
  EXPECT_EQ(max_abs_diff(w, orthogonal_random_features(M, D, same, DType::f64)), 0.0);
  const auto v = w.to_double_vector();
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < M; ++j) {
      if (i == j || i / D != j / D) continue;  // rows of one block
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += v[i * D + d] * v[j * D + d];
      EXPECT_NEAR(dot, 0.0, 1e-10) << i << " " << j;
    }
  Rng r2(62);
  Performer p(8, 2, 6, r2);
  const Tensor before = p.projection().clone();
  p.redraw(r2);
  EXPECT_GT(max_abs_diff(before, p.projection()), 1e-3);
  EXPECT_EQ(p.projection().shape(), before.shape());
}

// The FAVOR+ estimate approaches exact causal softmax attention as M grows (error printed for the README).
TEST(Performer, ApproximatesSoftmaxAttention) {
  const int64_t D = 8, T = 24;
  Rng data(63);
  const Tensor q = normal_tensor({1, 4, T, D}, 0, 0.7, data, DType::f64), k = normal_tensor({1, 4, T, D}, 0, 0.7, data, DType::f64);
  const Tensor v = normal_tensor({1, 4, T, D}, 0, 1, data, DType::f64);
  const Tensor exact = ag::scaled_dot_product_attention(Var(q), Var(k), Var(v), {true, 0, Tensor()}).value();
  std::vector<double> errors;
  for (int64_t M : {8, 64, 512, 4096}) {
    double err = 0;
    for (int seed = 0; seed < 4; ++seed) {
      Rng rng(100 + seed);
      const Tensor approx =
          performer_attention(Var(q), Var(k), Var(v), Var(orthogonal_random_features(M, D, rng, DType::f64)), 16).value();
      const auto a = approx.to_double_vector(), e = exact.to_double_vector();
      double num = 0, den = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        num += (a[i] - e[i]) * (a[i] - e[i]);
        den += e[i] * e[i];
      }
      err += std::sqrt(num / den) / 4;
    }
    std::cout << "performer M " << M << ": relative error vs softmax " << err << "\n";
    errors.push_back(err);
  }
  EXPECT_LT(errors[3], 0.5 * errors[0]);
  EXPECT_LT(errors[3], 0.1);
}

TEST(Performer, IsCausalAndDecodesStepByStep) {
  Rng rng(64);
  Performer m(8, 2, 16, rng, 3);
  const Tensor x = normal_tensor({2, 7, 8}, 0, 1, rng);
  expect_causal([&](const Tensor& in) { return m.forward(Var(in)).value(); }, x, 4, rng);
  const Tensor a = m.forward(Var(x)).value();
  LinearAttentionState s;
  for (int64_t t = 0; t < 7; ++t)
    EXPECT_LE(max_abs_diff(m.step(Var(x.select(1, t).contiguous()), s).value(), a.select(1, t)), 1e-5) << t;
}

TEST(Performer, RejectsBadInput) {
  Rng rng(65);
  EXPECT_THROW(Performer(8, 2, 0, rng), Error);  // features <= 0
  EXPECT_THROW(Performer(8, 3, 4, rng), Error);
  EXPECT_THROW(favor_features(Var(Tensor::zeros({1, 1, 3, 4})), Var(Tensor::zeros({5, 3}))), Error);
}

}  // namespace
}  // namespace rotor::nn
