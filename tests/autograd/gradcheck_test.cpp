// Runs every op in the gradient-check registry (see rotor/autograd/gradcheck.h): backward against
// central finite differences in f64 over several shapes, dense and non-contiguous inputs, and the f32
// forward against the f64 forward.
#include "rotor/autograd/gradcheck.h"

#include <gtest/gtest.h>

#include <set>

#include "rotor/autograd/ops.h"
#include "rotor/kernels/elementwise.h"

namespace rotor::autograd {
namespace {

class RegisteredOp : public ::testing::TestWithParam<size_t> {};

TEST_P(RegisteredOp, BackwardMatchesFiniteDifferences) {
  const GradcheckCase& c = gradcheck_registry().cases()[GetParam()];
  const GradcheckResult r = run_gradcheck(c);
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_LE(r.max_error, c.tolerance);
}

std::string case_name(const ::testing::TestParamInfo<size_t>& info) {
  const GradcheckCase& c = gradcheck_registry().cases()[info.param];
  std::string name = c.op + "_" + c.label + "_" + std::to_string(info.param);
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Gradcheck, RegisteredOp,
                         ::testing::Range<size_t>(0, gradcheck_registry().cases().size()), case_name);

// The harness itself must catch a wrong backward.
TEST(GradcheckHarness, DetectsWrongGradient) {
  GradcheckCase wrong{"wrong_square", "deliberately wrong", {{{3, 2}}}, [](const VarList& in) {
                        const Tensor x = in[0].value();
                        return record("wrong_square", kernels::mul(x, x), {in[0]},
                                      [x](const Tensor& g) { return std::vector<Tensor>{kernels::mul(g, x)}; });
                      }};
  const GradcheckResult r = run_gradcheck(wrong, 1);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("wrong_square"), std::string::npos);
}

TEST(GradcheckHarness, CoversEveryBuiltinOp) {
  const auto names = gradcheck_registry().op_names();
  const std::set<std::string> have(names.begin(), names.end());
  for (const char* op : {"add", "sub", "mul", "div", "neg", "pow", "pow_scalar", "exp", "log", "sqrt", "tanh",
                         "sigmoid", "relu", "gelu_erf", "gelu_tanh", "silu", "abs", "clamp", "matmul", "bmm",
                         "linear", "sum", "mean", "max", "logsumexp", "softmax", "log_softmax", "reshape",
                         "transpose", "permute", "slice", "select", "expand", "unsqueeze", "squeeze", "cat", "stack",
                         "embedding", "gather", "index_select", "cross_entropy", "mse_loss", "layer_norm",
                         "rms_norm", "dropout", "where", "masked_fill",
                         "scaled_dot_product_attention", "fused_causal_attention", "min", "var", "split",
                         "flatten", "checkpoint", "unfold2d", "fold2d", "conv2d", "conv1d", "conv_transpose2d",
                         "max_pool2d", "avg_pool2d", "upsample_nearest2d", "leaky_relu", "softplus", "pixel_shuffle",
                         "pixel_unshuffle", "upsample_bilinear2d", "max_unpool2d", "batch_norm", "group_norm"})
    EXPECT_TRUE(have.count(op)) << op << " is not registered";
}

}  // namespace
}  // namespace rotor::autograd
