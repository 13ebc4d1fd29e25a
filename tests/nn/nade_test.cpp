// NADE op (rotor/nn/nade.h): logits and gradients against PyTorch's masked formula in float64
// (tests/nn/make_nade_reference.py), finite differences (gradcheck registry), exact normalisation over all
// 2^D inputs, the autoregressive property, the sampler's agreement with the logits, and errors.
#include <gtest/gtest.h>

#include <cmath>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"
#include "rotor/kernels/nade.h"
#include "rotor/models/nade.h"
#include "rotor/nn/init.h"
#include "rotor/nn/nade.h"
#include "tests/nn/json_reference.h"

namespace rotor::nn {
namespace {

namespace ag = rotor::autograd;
using ag::Var;
using namespace rotor::testing_json;

const std::vector<int64_t> kOrder7 = {3, 0, 6, 2, 5, 1, 4};

void register_nade_gradchecks(ag::GradcheckRegistry& r) {
  // x [N, D], W [D, H], c [H], V [D, H], b [D]; orderings: a permutation, and the identity (D 1, H 1).
  r.add(ag::GradcheckCase{"nade_logits", "permuted order",
                          {{{3, 7}, {7, 4}, {4}, {7, 4}, {7}}, {{1, 7}, {7, 1}, {1}, {7, 1}, {7}}},
                          [](const ag::VarList& in) { return nade_logits(in[0], in[1], in[2], in[3], in[4], kOrder7); }}
            .with_kernels({"nade_backward"}));
  r.add({"nade_logits", "identity order, one input", {{{2, 1}, {1, 3}, {3}, {1, 3}, {1}}, {{4, 5}, {5, 2}, {2}, {5, 2}, {5}}},
         [](const ag::VarList& in) {
           std::vector<int64_t> order(static_cast<size_t>(in[0].size(1)));
           for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
           return nade_logits(in[0], in[1], in[2], in[3], in[4], order);
         }});
}

const bool registered = (register_nade_gradchecks(ag::gradcheck_registry()), true);

TEST(Nade, LogitsAndGradientsEqualPytorchMaskedFormula) {
  ASSERT_TRUE(registered);
  const json ref = read_reference("tests/nn/data/nade_reference.json");
  ASSERT_EQ(ref["cases"].size(), 3u);
  for (const json& c : ref["cases"]) {
    const std::string name = c["name"];
    const std::vector<int64_t> order = c["order"].get<std::vector<int64_t>>();
    for (DType dt : {DType::f64, DType::f32}) {
      const double tol = dt == DType::f64 ? 1e-12 : 2e-5;
      std::vector<Var> in;
      for (const char* k : {"x", "W", "c", "V", "b"}) in.emplace_back(tensor_of(c[k]).to(dt), true);
      const Var logits = nade_logits(in[0], in[1], in[2], in[3], in[4], order);
      expect_close(logits.value(), c["logits"], name + " logits", tol);
      const auto g = ag::grad(ag::sum(ag::mul(logits, Var(tensor_of(c["seed"]).to(dt)))), in);
      const char* keys[] = {"x", "W", "c", "V", "b"};
      for (size_t i = 0; i < 5; ++i) expect_close(g[i].value(), c["grads"][keys[i]], name + " d" + keys[i], tol);
      if (!c.contains("nll")) continue;
      const Var nll = ag::mean(ag::sum(
          ag::binary_cross_entropy_with_logits(nade_logits(in[0], in[1], in[2], in[3], in[4], order), Var(in[0].value()),
                                               ag::Reduction::none),
          {1}));
      EXPECT_NEAR(nll.item(), c["nll"].get<double>(), tol * std::max(1.0, std::abs(c["nll"].get<double>()))) << name;
      const auto gn = ag::grad(nll, {in[1], in[2], in[3], in[4]});
      for (size_t i = 0; i < 4; ++i)
        expect_close(gn[i].value(), c["nll_grads"][keys[i + 1]], name + " nll d" + keys[i + 1], tol);
    }
  }
}

// Random parameters of D inputs and H hidden units in f64.
std::vector<Var> random_params(int64_t D, int64_t H, Rng& rng) {
  return {Var(normal_tensor({D, H}, 0, 1, rng, DType::f64)), Var(normal_tensor({H}, 0, 1, rng, DType::f64)),
          Var(normal_tensor({D, H}, 0, 1, rng, DType::f64)), Var(normal_tensor({D}, 0, 1, rng, DType::f64))};
}

// Every binary x of D = 10 inputs: the probabilities sum to 1 (a proper density in any ordering).
TEST(Nade, ProbabilitiesOfAllInputsSumToOne) {
  constexpr int64_t D = 10, N = 1 << D;
  Rng rng(7);
  const std::vector<Var> p = random_params(D, 6, rng);
  Tensor x = Tensor::empty({N, D}, DType::f64);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) x.data<double>()[n * D + d] = static_cast<double>((n >> d) & 1);
  for (const std::vector<int64_t>& order : {std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
                                            std::vector<int64_t>{9, 4, 0, 7, 2, 8, 1, 5, 3, 6}}) {
    const Var logits = nade_logits(Var(x), p[0], p[1], p[2], p[3], order);
    const Var logp = ag::neg(ag::sum(ag::binary_cross_entropy_with_logits(logits, Var(x), ag::Reduction::none), {1}));
    EXPECT_NEAR(ag::sum(ag::exp(logp)).item(), 1.0, 1e-12);
  }
}

// logits[o_t] depends on x[o_s] only for s < t: its gradient is zero at the later inputs and nonzero before.
TEST(Nade, LogitDependsOnlyOnEarlierInputs) {
  Rng rng(8);
  const std::vector<Var> p = random_params(7, 3, rng);
  Var x(normal_tensor({1, 7}, 0, 1, rng, DType::f64), true);
  const Var logits = nade_logits(x, p[0], p[1], p[2], p[3], kOrder7);
  for (int64_t t = 0; t < 7; ++t) {
    const auto g = ag::grad(ag::select(logits, 1, kOrder7[static_cast<size_t>(t)]), {x}, Tensor::ones({1}, DType::f64))[0];
    const auto gv = g.value().to_double_vector();
    for (int64_t s = 0; s < 7; ++s) {
      const double v = gv[static_cast<size_t>(kOrder7[static_cast<size_t>(s)])];
      if (s >= t) {
        EXPECT_EQ(v, 0.0) << "t " << t << " s " << s;
      } else {
        EXPECT_NE(v, 0.0) << "t " << t << " s " << s;
      }
    }
  }
}

// The sampler draws x[p] = (u[p] < sigmoid(logit[p])) where logit is the op's, on the drawn x.
TEST(Nade, SamplerAgreesWithTheLogits) {
  constexpr int64_t N = 6, D = 7, H = 5;
  Rng rng(9);
  const std::vector<Var> p = random_params(D, H, rng);
  Tensor u = uniform_tensor({N, D}, 0, 1, rng, DType::f64), x = Tensor::empty({N, D}, DType::f64);
  kernels::nade_sample<double>(x.data<double>(), u.data<double>(), p[0].value().data<double>(),
                               p[1].value().data<double>(), p[2].value().data<double>(), p[3].value().data<double>(),
                               kOrder7.data(), N, D, H);
  const auto logits = nade_logits(Var(x), p[0], p[1], p[2], p[3], kOrder7).value().to_double_vector();
  const auto xs = x.to_double_vector(), us = u.to_double_vector();
  int64_t ones = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    EXPECT_EQ(xs[i], us[i] < 1 / (1 + std::exp(-logits[i])) ? 1.0 : 0.0) << i;
    ones += xs[i] == 1.0;
  }
  EXPECT_GT(ones, 0);
  EXPECT_LT(ones, N * D);
}

TEST(Nade, BadShapesAndOrderingsAreErrors) {
  Rng rng(10);
  const std::vector<Var> p = random_params(7, 3, rng);
  const Var x(Tensor::zeros({2, 7}, DType::f64));
  EXPECT_THROW(nade_logits(x, p[0], p[1], p[2], p[3], {0, 1, 2}), Error);
  EXPECT_THROW(nade_logits(x, p[0], p[1], p[2], p[3], {0, 1, 2, 3, 4, 5, 5}), Error);
  EXPECT_THROW(nade_logits(x, p[0], p[1], p[2], p[3], {0, 1, 2, 3, 4, 5, 7}), Error);
  EXPECT_THROW(nade_logits(Var(Tensor::zeros({2, 6}, DType::f64)), p[0], p[1], p[2], p[3], kOrder7), Error);
  EXPECT_THROW(nade_logits(x, p[0], Var(p[2].value().narrow(1, 0, 2)), p[2], p[3], kOrder7), Error);
}

}  // namespace
}  // namespace rotor::nn
