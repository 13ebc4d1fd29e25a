// FLASH / GAU: the chunked mixed form against explicit per-pair weights written in torch
// (tests/nn/make_mixer_reference.py), gradients against finite differences (gradcheck registry),
// causality, step() decoding with the chunk cache.
#include <gtest/gtest.h>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"
#include "rotor/nn/flash.h"
#include "rotor/nn/init.h"
#include "tests/nn/mixer_test_util.h"

namespace rotor::nn {
namespace {

namespace ag = rotor::autograd;
using namespace rotor::nn::testing;

void register_flash_gradchecks(ag::GradcheckRegistry& r) {
  // x, hidden.w/b, qk.w/b, gamma, beta, rel_bias: d 3, e 2, s 3, chunk 2 over T 5 (ragged end), n 8.
  // The chunk is rel_bias's length: 2 over T 5 (ragged end), then 3 over T 6.
  r.add({"flash_mix", "chunks of 2 (ragged end) and 3",
         {{{2, 5, 3}, {4, 3}, {4}, {3, 3}, {3}, {4, 3}, {4, 3}, {2}},
          {{1, 6, 3}, {4, 3}, {4}, {3, 3}, {3}, {4, 3}, {4, 3}, {3}}},
         [](const ag::VarList& in) {
           return flash_mix(in[0], {in[1], in[2], in[3], in[4], in[5], in[6], in[7]}, in[7].size(0), 8);
         }});
}

const bool registered = (register_flash_gradchecks(ag::gradcheck_registry()), true);

FlashOptions small_options() {
  FlashOptions o;
  o.expansion = 2;
  o.qk_dim = 5;
  o.chunk = 4;
  o.norm_length = 16;
  return o;
}

// The module loads the reference's state dict by name (d 4, e 8, s 5, chunk 4, n 16) and reproduces its
// output and every gradient.
TEST(Flash, MatchesTorchReference) {
  for (DType dtype : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dtype_name(dtype));
    Rng rng(71);
    FlashAttention m(4, small_options(), rng, dtype);
    expect_block_matches_reference(m, [&](const Var& x) { return m.forward(x); }, "flash", dtype,
                                   dtype == DType::f32 ? 1e-4 : 1e-10);
  }
}

TEST(Flash, IsCausalAndDecodesStepByStep) {
  FlashOptions o = small_options();
  for (int64_t chunk : {3, 16}) {  // mixed chunked form, and plain GAU (one chunk)
    SCOPED_TRACE(chunk);
    o.chunk = chunk;
    Rng rng(72);
    FlashAttention m(4, o, rng);
    for (auto& [name, p] : m.named_parameters())  // nonzero rel_bias and beta, larger gamma
      if (name == "rel_bias" || name == "beta" || name == "gamma") p.mutable_value().copy_(normal_tensor(p.shape(), 0, 0.7, rng));
    const Tensor x = normal_tensor({2, 10, 4}, 0, 1, rng);
    expect_causal([&](const Tensor& in) { return m.forward(Var(in)).value(); }, x, 7, rng);
    const Tensor a = m.forward(Var(x)).value();
    FlashState s;
    for (int64_t t = 0; t < 10; ++t)
      EXPECT_LE(max_abs_diff(m.step(Var(x.select(1, t).contiguous()), s).value(), a.select(1, t)), 1e-5) << t;
    EXPECT_EQ(s.position, 10);
  }
}

TEST(Flash, RejectsBadInput) {
  Rng rng(73);
  FlashOptions o = small_options();
  o.expansion = 0;
  EXPECT_THROW(FlashAttention(4, o, rng), Error);
  FlashAttention m(4, small_options(), rng);
  EXPECT_THROW(m.forward(Var(Tensor::zeros({1, 5, 3}))), Error);
  FlashState s;
  EXPECT_THROW(m.step(Var(Tensor::zeros({1, 5})), s), Error);
  o.expansion = 1;
  FlashAttention narrower(4, o, rng);
  EXPECT_THROW(narrower.load_state_dict(mixer_file("flash_state")), Error);  // hidden.weight [16, 4] vs [8, 4]
}

}  // namespace
}  // namespace rotor::nn
