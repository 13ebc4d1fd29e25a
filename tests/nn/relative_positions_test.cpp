// T5's bucketed relative bias and ALiBi (rotor/nn/relative_positions.h) against PyTorch
// (tests/nn/make_position_reference.py): bucket tables and slopes exactly, the biased causal attention's
// output and the gradients of q, k, v and the T5 table at 1e-10 in f64 and 1e-4 in f32.
#include "rotor/nn/relative_positions.h"

#include <gtest/gtest.h>

#include "rotor/autograd/ops.h"
#include "tests/nn/mixer_test_util.h"

namespace rotor::nn {
namespace {

namespace ag = rotor::autograd;
using testing::entry;
using testing::expect_rel_close;

io::TensorMap positions_file(const std::string& name) {
  return io::load_safetensors(std::string(ROTOR_SOURCE_DIR) + "/tests/nn/data/positions_" + name + ".safetensors");
}

TEST(RelativePositions, T5BucketsEqualTheReference) {
  const io::TensorMap ref = positions_file("buckets");
  struct Table {
    const char* name;
    int64_t tq, tk, offset;
    bool bidirectional;
    int64_t buckets, max_distance;
  };
  for (const Table& t : {Table{"causal_32_128", 7, 300, 290, false, 32, 128},
                         Table{"bidirectional_32_128", 5, 300, 150, true, 32, 128},
                         Table{"causal_8_12", 20, 20, 0, false, 8, 12}}) {
    const Tensor got = t5_buckets(t.tq, t.tk, t.offset, t.bidirectional, t.buckets, t.max_distance);
    const auto want = entry(ref, t.name).to_double_vector();
    const auto g = got.to_double_vector();
    ASSERT_EQ(g.size(), want.size()) << t.name;
    for (size_t i = 0; i < g.size(); ++i) ASSERT_EQ(g[i], want[i]) << t.name << " element " << i;
  }
  // the causal table uses a key's distance into the past only; every key at or after the query: bucket 0
  EXPECT_EQ(t5_bucket(5, false, 32, 128), 0);
  EXPECT_EQ(t5_bucket(-1000, false, 32, 128), 31);  // far beyond max_distance: the last bucket
}

TEST(RelativePositions, AlibiSlopesEqualTheReference) {
  const io::TensorMap ref = positions_file("buckets");
  for (int64_t h : {4, 6, 12})
    expect_rel_close(alibi_slopes(h, DType::f64), entry(ref, "alibi_slopes_" + std::to_string(h)), 1e-15,
                     "slopes " + std::to_string(h));
  const Tensor b = alibi_bias(4, 3, 5, 2, DType::f64);  // queries 2..4, keys 0..4
  EXPECT_DOUBLE_EQ(b.to_double_vector()[0 * 15 + 0 * 5 + 0], -0.25 * 2);  // head 0, slope 2^-2, distance 2
  EXPECT_DOUBLE_EQ(b.to_double_vector()[3 * 15 + 2 * 5 + 4], 0.0);      // the query itself
}

void check_attention(const std::string& name, DType dtype, double tol) {
  const io::TensorMap ref = positions_file("attention_" + name);
  auto input = [&](const char* key) { return ag::Var(entry(ref, key).to(dtype), true); };
  const ag::Var q = input("q"), k = input("k"), v = input("v");
  const int64_t H = q.size(1), T = q.size(2);
  Rng rng(0);
  std::unique_ptr<T5RelativeBias> t5;
  ag::Var bias;
  if (name == "t5") {
    const Tensor& w = entry(ref, "weight");
    t5 = std::make_unique<T5RelativeBias>(H, w.size(0), 12, false, rng, 1.0, dtype);
    t5->load_state_dict({{"weight", w}});
    bias = t5->forward(T, T);
  } else {
    bias = ag::Var(alibi_bias(H, T, T, 0, dtype));
  }
  const ag::Var out = biased_causal_attention(q, k, v, bias);
  expect_rel_close(out.value(), entry(ref, "out"), tol, name + " out");
  ag::sum(ag::mul(out, ag::Var(entry(ref, "seed_out").to(dtype)))).backward();
  expect_rel_close(q.grad(), entry(ref, "grad.q"), tol, name + " grad.q");
  expect_rel_close(k.grad(), entry(ref, "grad.k"), tol, name + " grad.k");
  expect_rel_close(v.grad(), entry(ref, "grad.v"), tol, name + " grad.v");
  if (t5) expect_rel_close(t5->parameters()[0].grad(), entry(ref, "grad.weight"), tol, name + " grad.weight");
}

TEST(RelativePositions, T5AttentionMatchesTheReference) {
  check_attention("t5", DType::f64, 1e-10);
  check_attention("t5", DType::f32, 1e-4);
}

TEST(RelativePositions, AlibiAttentionMatchesTheReference) {
  check_attention("alibi", DType::f64, 1e-10);
  check_attention("alibi", DType::f32, 1e-4);
}

TEST(RelativePositions, RejectsBadShapes) {
  Rng rng(1);
  EXPECT_THROW(T5RelativeBias(2, 1, 8, false, rng, 1.0), Error);
  EXPECT_THROW(alibi_slopes(0), Error);
  const ag::Var q(Tensor::zeros({1, 2, 3, 4})), k(Tensor::zeros({1, 2, 3, 4}));
  EXPECT_THROW(biased_causal_attention(q, k, k, ag::Var(Tensor::zeros({3, 3, 3}))), Error);
}

}  // namespace
}  // namespace rotor::nn
