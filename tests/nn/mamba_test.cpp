// Mamba: the block against the paper's equations written in torch (F.conv1d, sequential scan;
// tests/nn/make_mixer_reference.py) with the reference implementation's parameter names; the chunked scan
// against the sequential one; gradients against finite differences (gradcheck registry); causality;
// step() decoding.
#include <gtest/gtest.h>

#include <cmath>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"
#include "rotor/core/threads.h"
#include "rotor/nn/init.h"
#include "rotor/nn/mamba.h"
#include "tests/nn/mixer_test_util.h"

namespace rotor::nn {
namespace {

namespace ag = rotor::autograd;
using namespace rotor::nn::testing;

// Scan inputs from unconstrained values: delta = softplus(.), A = -exp(.). chunk 0: sequential, -1: fused.
Var scan_of(const ag::VarList& in, int64_t chunk) {
  const Var delta = ag::softplus(in[1]), A = -ag::exp(in[2]);
  if (chunk < 0) return selective_scan(in[0], delta, A, in[3], in[4], in[5]);
  return chunk == 0 ? selective_scan_sequential(in[0], delta, A, in[3], in[4], in[5])
                    : selective_scan_chunked(in[0], delta, A, in[3], in[4], in[5], chunk);
}

constexpr ScanForm kForms[] = {ScanForm::fused, ScanForm::chunked, ScanForm::sequential};
const char* form_name(ScanForm f) {
  return f == ScanForm::fused ? "fused" : f == ScanForm::chunked ? "chunked" : "sequential";
}

void register_mamba_gradchecks(ag::GradcheckRegistry& r) {
  // x, delta [B, T, E], A [E, N], B, C [B, T, N], D [E]: (B, T, E, N) = (2, 5, 3, 2) and (1, 4, 2, 3)
  const std::vector<std::vector<Shape>> scan = {{{2, 5, 3}, {2, 5, 3}, {3, 2}, {2, 5, 2}, {2, 5, 2}, {3}},
                                                 {{1, 4, 2}, {1, 4, 2}, {2, 3}, {1, 4, 3}, {1, 4, 3}, {2}}};
  r.add({"selective_scan_sequential", "T 5 and 4", scan, [](const ag::VarList& in) { return scan_of(in, 0); }});
  r.add({"selective_scan_chunked", "chunks of 2 (ragged end)", scan,
         [](const ag::VarList& in) { return scan_of(in, 2); }});
  // The fused kernel: also 17 channels (a full 16-lane block and a ragged one) and a lone step.
  r.add(ag::GradcheckCase{"selective_scan", "fused kernel",
                          {{{2, 5, 3}, {2, 5, 3}, {3, 2}, {2, 5, 2}, {2, 5, 2}, {3}},
                           {{1, 3, 17}, {1, 3, 17}, {17, 2}, {1, 3, 2}, {1, 3, 2}, {17}},
                           {{2, 1, 2}, {2, 1, 2}, {2, 3}, {2, 1, 3}, {2, 1, 3}, {2}}},
                          [](const ag::VarList& in) { return scan_of(in, -1); }}
            .with_kernels({"selective_scan_backward"}));
  r.add({"causal_depthwise_conv", "K 3 and 2", {{{2, 5, 3}, {3, 1, 3}, {3}}, {{1, 4, 2}, {2, 1, 2}, {2}}},
         [](const ag::VarList& in) { return causal_depthwise_conv(in[0], in[1], in[2]); }});
}

const bool registered = (register_mamba_gradchecks(ag::gradcheck_registry()), true);

MambaOptions small_options() {
  MambaOptions o;
  o.d_state = 3;
  o.d_conv = 3;
  o.expand = 2;
  o.dt_rank = 2;
  o.chunk = 4;
  return o;
}

TEST(Mamba, MatchesTorchReference) {
  for (DType dtype : {DType::f32, DType::f64})
    for (ScanForm form : kForms) {
      SCOPED_TRACE(cat(dtype_name(dtype), " ", form_name(form)));
      Rng rng(51);
      MambaBlock m(4, small_options(), rng, dtype);
      expect_block_matches_reference(m, [&](const Var& x) { return m.forward(x, form); }, "mamba", dtype,
                                     dtype == DType::f32 ? 1e-4 : 1e-10);
    }
}

TEST(Mamba, ChunkedScanEqualsSequential) {
  Rng rng(52);
  const Tensor x = normal_tensor({2, 11, 4}, 0, 1, rng, DType::f64);
  const Var delta = ag::softplus(Var(normal_tensor({2, 11, 4}, 0, 1, rng, DType::f64)));
  const Var A = -ag::exp(Var(normal_tensor({4, 3}, 0, 1, rng, DType::f64)));
  const Var Bm(normal_tensor({2, 11, 3}, 0, 1, rng, DType::f64)), Cm(normal_tensor({2, 11, 3}, 0, 1, rng, DType::f64));
  const Var D(normal_tensor({4}, 0, 1, rng, DType::f64));
  const Tensor a = selective_scan_sequential(Var(x), delta, A, Bm, Cm, D).value();
  for (int64_t chunk : {1, 3, 4, 11, 16})
    EXPECT_LE(max_abs_diff(a, selective_scan_chunked(Var(x), delta, A, Bm, Cm, D, chunk).value()), 1e-12) << chunk;
  EXPECT_LE(max_abs_diff(a, selective_scan(Var(x), delta, A, Bm, Cm, D).value()), 1e-12);
}

// The fused kernel against the sequential scan on the tape at a size with several 16-channel blocks and a
// ragged one, values and all six gradients (f64, so any difference is an error, not rounding), and the same
// gradients at 1 and 2 threads bit for bit.
TEST(Mamba, FusedScanEqualsSequentialWithGradients) {
  Rng rng(55);
  const int64_t B = 3, T = 61, E = 37, N = 5;  // enough work for the kernel to use two threads
  std::vector<Var> in{Var(normal_tensor({B, T, E}, 0, 1, rng, DType::f64), true),
                      Var(normal_tensor({B, T, E}, 0, 1, rng, DType::f64), true),
                      Var(normal_tensor({E, N}, 0, 1, rng, DType::f64), true),
                      Var(normal_tensor({B, T, N}, 0, 1, rng, DType::f64), true),
                      Var(normal_tensor({B, T, N}, 0, 1, rng, DType::f64), true),
                      Var(normal_tensor({E}, 0, 1, rng, DType::f64), true)};
  const Tensor seed = normal_tensor({B, T, E}, 0, 1, rng, DType::f64);
  auto run = [&](int64_t chunk) {
    const Var y = scan_of(in, chunk);
    std::vector<Tensor> out{y.value()};
    for (const Var& g : ag::grad(ag::sum(ag::mul(y, Var(seed))), in)) out.push_back(g.value());
    return out;
  };
  const auto sequential = run(0), fused = run(-1);
  for (size_t i = 0; i < fused.size(); ++i)
    EXPECT_LE(max_abs_diff(fused[i], sequential[i]), 1e-10 * std::max(1.0, max_abs_diff(sequential[i], Tensor::zeros(sequential[i].shape(), DType::f64)))) << i;
  const int threads = num_threads();
  set_num_threads(1);
  const auto one = run(-1);
  set_num_threads(2);
  const auto two = run(-1);
  set_num_threads(threads);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(max_abs_diff(one[i], two[i]), 0.0) << i;
}

TEST(Mamba, BlockIsCausalAndDecodesStepByStep) {
  Rng rng(53);
  MambaBlock m(4, small_options(), rng);
  const Tensor x = normal_tensor({2, 9, 4}, 0, 1, rng);
  for (ScanForm form : kForms)
    expect_causal([&](const Tensor& in) { return m.forward(Var(in), form).value(); }, x, 6, rng);
  const Tensor y = m.forward(Var(x)).value();
  MambaState s;
  for (int64_t t = 0; t < 9; ++t)
    EXPECT_LE(max_abs_diff(m.step(Var(x.select(1, t).contiguous()), s).value(), y.select(1, t)), 1e-5) << t;
}

TEST(Mamba, InitialisationAndBadInput) {
  Rng rng(54);
  MambaBlock m(4, small_options(), rng, DType::f64);
  const StateDict sd = m.state_dict();
  const auto a_log = sd.at("A_log").to_double_vector();
  for (size_t i = 0; i < a_log.size(); ++i) EXPECT_NEAR(std::exp(a_log[i]), static_cast<double>(i % 3 + 1), 1e-12);
  for (double b : sd.at("dt_proj.bias").to_double_vector()) {
    const double dt = std::log1p(std::exp(b));  // softplus(bias) is the initial step size
    EXPECT_GE(dt, 1e-3 - 1e-12);
    EXPECT_LE(dt, 1e-1 + 1e-12);
  }
  EXPECT_THROW(m.forward(Var(Tensor::zeros({1, 5, 3}, DType::f64))), Error);
  MambaOptions bad = small_options();
  bad.d_state = 0;
  EXPECT_THROW(MambaBlock(4, bad, rng), Error);
  EXPECT_THROW(selective_scan_chunked(Var(Tensor::zeros({1, 5, 3})), Var(Tensor::zeros({1, 5, 3})),
                                      Var(Tensor::zeros({3, 2})), Var(Tensor::zeros({1, 5, 2})),
                                      Var(Tensor::zeros({1, 5, 3})), Var(Tensor::zeros({3})), 2),
               Error);  // C with 3 states, B with 2
}

}  // namespace
}  // namespace rotor::nn
