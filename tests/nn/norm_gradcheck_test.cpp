// BatchNorm2d's and GroupNorm's functional forms (rotor/nn/batch_norm.h) join the gradient-check
// registry from here (rotor/nn sits above rotor/autograd, so it registers with a static initializer);
// the Gradcheck suite runs them. Training-mode batch norm is checked both as the composite of the batch
// statistics (the reference form) and as the fused op the module runs.
#include <gtest/gtest.h>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/gradcheck.h"
#include "rotor/nn/batch_norm.h"

namespace rotor::nn {
namespace {

using autograd::VarList;

const bool registered = [] {
  auto& r = autograd::gradcheck_registry();
  r.add({"batch_norm", "training, batch statistics", {{{4, 3, 2, 3}, {3}, {3}}, {{5, 2}, {2}, {2}}},
         [](const VarList& in) {
           auto [mean, var] = batch_statistics(in[0]);
           return batch_norm(in[0], mean, var, in[1], in[2], 1e-5);
         }});
  r.add(autograd::GradcheckCase{"batch_norm_training", "fused, batch statistics",
                                 {{{4, 3, 2, 3}, {3}, {3}}, {{5, 2}, {2}, {2}}, {{2, 4, 5}, {4}, {4}}},
                                 [](const VarList& in) { return batch_norm_training(in[0], in[1], in[2], 1e-5).y; }}
            .with_kernels({"batchnorm_backward"}));
  r.add({"batch_norm_training", "second order", {{{3, 2, 2, 2}, {2}, {2}}}, [](const VarList& in) {
           return autograd::gradient_norm_squared(
               [](const VarList& x) { return autograd::square(batch_norm_training(x[0], x[1], x[2], 1e-5).y); }, in);
         }});
  r.add({"batch_norm", "evaluation, fixed statistics", {{{2, 3, 2, 2}, {1, 3, 1, 1}, {1, 3, 1, 1}, {3}, {3}}},
         [](const VarList& in) { return batch_norm(in[0], in[1], in[2], in[3], in[4], 1e-5); },
         autograd::InputDomain::positive});
  r.add({"group_norm", "3 groups", {{{2, 6, 3, 2}, {6}, {6}}, {{1, 4, 5}, {4}, {4}}},
         [](const VarList& in) { return group_norm(in[0], in[0].size(1) == 6 ? 3 : 2, in[1], in[2], 1e-5); }});
  return true;
}();

TEST(NormGradcheck, Registered) { EXPECT_TRUE(registered); }

}  // namespace
}  // namespace rotor::nn
