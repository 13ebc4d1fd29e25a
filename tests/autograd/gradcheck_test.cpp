// Runs every op in the gradient-check registry (see rotor/autograd/gradcheck.h): backward against
// central finite differences in f64 over several shapes, dense and non-contiguous inputs, and the f32
// forward against the f64 forward.
#include "rotor/autograd/gradcheck.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

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

// The harness must catch a bf16 kernel path that is off by more than bf16 rounding explains.
TEST(GradcheckHarness, DetectsWrongBf16Path) {
  auto wrong = GradcheckCase{"scaled", "bf16 path 1% off", {{{3, 4}}}, [](const VarList& in) { return in[0] * 2.0; }}
                   .with_bf16([](const VarList& in) { return in[0] * 2.02; }, 1);
  const GradcheckResult r = run_gradcheck(wrong, 1);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("bf16 forward"), std::string::npos) << r.message;
  // within one bf16 rounding (2^-8 relative) it passes
  auto close = GradcheckCase{"scaled", "bf16 path within rounding", {{{3, 4}}},
                             [](const VarList& in) { return in[0] * 2.0; }}
                   .with_bf16([](const VarList& in) { return in[0] * (2.0 * (1 + 1.0 / 512)); }, 1);
  const GradcheckResult ok = run_gradcheck(close, 1);
  EXPECT_TRUE(ok.ok) << ok.message;
}

TEST(GradcheckHarness, RejectsABroadcastingFlagWithoutBroadcast) {
  auto c = GradcheckCase{"add", "same shapes", {{{3, 4}, {3, 4}}},
                         [](const VarList& in) { return add(in[0], in[1]); }}
               .with_broadcasting();
  const GradcheckResult r = run_gradcheck(c, 1);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("broadcast"), std::string::npos) << r.message;
}

// The text of every source file under rotor/ with one of the given extensions.
std::vector<std::pair<std::string, std::string>> sources(const std::vector<std::string>& extensions) {
  std::vector<std::pair<std::string, std::string>> files;
  const std::filesystem::path root = std::filesystem::path(ROTOR_SOURCE_DIR) / "rotor";
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    const std::string ext = e.path().extension().string();
    if (std::find(extensions.begin(), extensions.end(), ext) == extensions.end()) continue;
    std::ifstream in(e.path());
    files.emplace_back(e.path().string(), std::string(std::istreambuf_iterator<char>(in), {}));
  }
  return files;
}

std::set<std::string> matches(const std::vector<std::pair<std::string, std::string>>& files, const std::regex& re) {
  std::set<std::string> names;
  for (const auto& [path, text] : files)
    for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) names.insert((*it)[1].str());
  return names;
}

// Every op that records itself on the tape anywhere in the library has cases in the registry.
TEST(GradcheckHarness, CoversEveryRecordedOp) {
  const auto files = sources({".cpp"});  // (the headers only mention record("name", ...) in comments)
  const auto recorded = matches(files, std::regex(R"((?:record|unary_op)\(\s*"([a-z_0-9]+)\")"));
  ASSERT_GT(recorded.size(), 40u) << "the scan of the sources found too few ops";
  const auto names = gradcheck_registry().op_names();
  const std::set<std::string> have(names.begin(), names.end());
  // Recorded under a name of their own but checked through the op that creates them.
  const std::set<std::string> checked_elsewhere = {
      "contiguous",  // the node a view's .contiguous() leaves (checked through transpose, permute)
  };
  for (const auto& op : recorded)
    EXPECT_TRUE(have.count(op) || checked_elsewhere.count(op)) << "op '" << op << "' is recorded but has no gradcheck case";
}

// Every backward kernel declared in rotor/kernels/*.h is run by some case.
TEST(GradcheckHarness, CoversEveryBackwardKernel) {
  auto headers = sources({".h"});
  std::erase_if(headers, [](const auto& f) { return f.first.find("/rotor/kernels/") == std::string::npos; });
  const auto kernels = matches(headers, std::regex(R"(\b([a-z_0-9]+_backward[a-z_0-9]*)\s*\()"));
  ASSERT_GT(kernels.size(), 20u) << "the scan of the kernel headers found too few backward kernels";
  const auto covered = gradcheck_registry().covered_kernels();
  const std::set<std::string> have(covered.begin(), covered.end());
  for (const auto& name : kernels) EXPECT_TRUE(have.count(name)) << "backward kernel " << name << " is in no case";
  for (const auto& name : have) EXPECT_TRUE(kernels.count(name)) << "a case names an unknown kernel " << name;
}

// Every op that broadcasts its inputs has a case flagged `broadcasting` (which run_gradcheck verifies
// really broadcasts), including a rank-changing one like [4, 1, 5] against [3, 5].
TEST(GradcheckHarness, EveryBroadcastingOpHasBroadcastingCases) {
  const auto& cases = gradcheck_registry().cases();
  // (masked_fill broadcasts its mask, a constant: checked by its "broadcast mask" case's shapes)
  for (const char* op : {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "where", "matmul", "mse_loss"}) {
    bool flagged = false, rank_changing = false;
    for (const auto& c : cases) {
      if (c.op != op || !c.broadcasting) continue;
      flagged = true;
      for (const auto& shapes : c.shape_sets)
        for (const auto& s : shapes)
          rank_changing = rank_changing || (!s.empty() && !shapes[0].empty() && s.size() != shapes[0].size());
    }
    EXPECT_TRUE(flagged) << op << " broadcasts but has no case flagged broadcasting";
    EXPECT_TRUE(rank_changing) << op << " has no broadcasting case between inputs of different ranks";
  }
}

// Every op is checked over several shapes, and every op with a bf16 kernel path has a bf16 case.
TEST(GradcheckHarness, EveryOpHasSeveralShapesAndItsBf16Paths) {
  std::map<std::string, size_t> shape_sets;
  std::set<std::string> bf16;
  for (const auto& c : gradcheck_registry().cases()) {
    shape_sets[c.op] += c.shape_sets.size();
    if (c.bf16_fn) bf16.insert(c.op);
  }
  for (const auto& [op, n] : shape_sets) EXPECT_GE(n, 2u) << op << " is checked over a single shape";
  for (const char* op : {"linear_kernel", "gelu_erf", "gelu_tanh", "silu", "gated_activation", "layer_norm",
                         "rms_norm", "rope_qkv", "fused_causal_attention"})
    EXPECT_TRUE(bf16.count(op)) << op << " has a bf16 kernel but no bf16 case";
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
                         "pixel_unshuffle", "upsample_bilinear2d", "max_unpool2d", "batch_norm", "batch_norm_training", "group_norm"})
    EXPECT_TRUE(have.count(op)) << op << " is not registered";
}

}  // namespace
}  // namespace rotor::autograd
