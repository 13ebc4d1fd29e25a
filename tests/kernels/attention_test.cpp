#include "rotor/kernels/attention.h"
#include "rotor/kernels/attention_fused.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "tests/kernels/finite_difference.h"

namespace rotor {
namespace {

using kernels::AttentionDims;
using kernels::RopeLayout;
using kernels::RopeSpec;

struct Case {
  AttentionDims d;
  bool rope;
  RopeLayout layout;
  double fraction;
};

// Straightforward reference: rotate q and k with cos/sin computed here, then per head scores, causal
// mask, softmax, weighted sum of v. qkv: [B, T, (H + 2KV) Dh] -> out [B, T, H Dh].
std::vector<double> reference_attention(const std::vector<double>& qkv_in, const Case& c) {
  const AttentionDims& d = c.d;
  const int64_t W = d.qkv_width(), Dh = d.Dh;
  std::vector<double> qkv = qkv_in;
  if (c.rope) {
    const int64_t rot = int64_t(std::floor(Dh * c.fraction)) / 2 * 2, half = rot / 2;
    for (int64_t b = 0; b < d.B; ++b)
      for (int64_t t = 0; t < d.T; ++t)
        for (int64_t h = 0; h < d.H + d.KV; ++h) {
          double* x = &qkv[(b * d.T + t) * W + h * Dh];
          for (int64_t i = 0; i < half; ++i) {
            const double angle = t * std::pow(10000.0, -2.0 * i / rot);
            const int64_t i1 = c.layout == RopeLayout::half_split ? i : 2 * i;
            const int64_t i2 = c.layout == RopeLayout::half_split ? i + half : 2 * i + 1;
            const double x1 = x[i1], x2 = x[i2];
            x[i1] = x1 * std::cos(angle) - x2 * std::sin(angle);
            x[i2] = x1 * std::sin(angle) + x2 * std::cos(angle);
          }
        }
  }
  std::vector<double> out(d.B * d.T * d.H * Dh, 0.0);
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t h = 0; h < d.H; ++h) {
      const int64_t kv = h / d.group();
      for (int64_t t = 0; t < d.T; ++t) {
        std::vector<double> s(t + 1);
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j <= t; ++j) {
          double dotp = 0;
          for (int64_t i = 0; i < Dh; ++i)
            dotp += qkv[(b * d.T + t) * W + h * Dh + i] * qkv[(b * d.T + j) * W + (d.H + kv) * Dh + i];
          s[j] = dotp / std::sqrt(double(Dh));
          mx = std::max(mx, s[j]);
        }
        for (auto& v : s) sum += (v = std::exp(v - mx));
        for (int64_t j = 0; j <= t; ++j)
          for (int64_t i = 0; i < Dh; ++i)
            out[(b * d.T + t) * d.H * Dh + h * Dh + i] +=
                s[j] / sum * qkv[(b * d.T + j) * W + (d.H + d.KV + kv) * Dh + i];
      }
    }
  return out;
}

template <class T> kernels::RopeTable<T> table_for(const Case& c) {
  RopeSpec spec;
  spec.head_dim = c.d.Dh;
  spec.layout = c.layout;
  spec.partial_rotary_factor = c.fraction;
  return kernels::make_rope_table<T>(spec, c.d.T);
}

template <class T>
std::vector<T> run_forward(const std::vector<T>& qkv_in, const Case& c, std::vector<T>* probs_out = nullptr,
                           std::vector<T>* rotated = nullptr, const kernels::AttentionMatmul& mm = {}) {
  const AttentionDims& d = c.d;
  std::vector<T> qkv = qkv_in, out(d.B * d.T * d.H * d.Dh), probs(d.B * d.H * d.T * d.T);
  const auto rope = table_for<T>(c);
  if (c.rope) kernels::rope_qkv_forward<T>(qkv.data(), d, rope);
  kernels::attention_forward<T>(out.data(), probs.data(), qkv.data(), d, mm);
  if (probs_out) *probs_out = probs;
  if (rotated) *rotated = qkv;
  return out;
}

double round_bf16(double x) { return bf16_to_float(float_to_bf16(float(x))); }

// The bf16 attention in double arithmetic with bf16 rounding exactly where the kernels round: the
// rotated q, k, v and the output gradient are rounded, the probabilities after the (f32-accurate)
// softmax, and the scores' gradient p (dp - sum_j dp_j p_j) / sqrt(Dh); every product accumulates
// exactly. rotated: the already rotated qkv; dqkv: the gradient before the rotation back, [B, T, W].
struct EmulatedBf16 {
  std::vector<double> out, dqkv;
};
EmulatedBf16 emulated_bf16_attention(const std::vector<float>& rotated, const std::vector<double>& dout,
                                     const AttentionDims& d) {
  const int64_t W = d.qkv_width(), Dh = d.Dh, T = d.T;
  const double scale = 1.0 / std::sqrt(double(Dh));
  std::vector<double> x16(rotated.size()), dy16(dout.size());
  for (size_t i = 0; i < rotated.size(); ++i) x16[i] = round_bf16(rotated[i]);
  for (size_t i = 0; i < dout.size(); ++i) dy16[i] = round_bf16(float(dout[i]));
  EmulatedBf16 e{std::vector<double>(d.B * T * d.H * Dh, 0.0), std::vector<double>(rotated.size(), 0.0)};
  std::vector<double> p16(T), dp(T);
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t h = 0; h < d.H; ++h) {
      const int64_t q = h * Dh, k = (d.H + h / d.group()) * Dh, v = (d.H + d.KV + h / d.group()) * Dh;
      auto at = [&](int64_t t, int64_t col) { return (b * T + t) * W + col; };
      for (int64_t t = 0; t < T; ++t) {
        const int64_t y = (b * T + t) * d.H * Dh + h * Dh;
        double mx = -1e300, sum = 0, dot = 0;
        for (int64_t j = 0; j <= t; ++j) {
          p16[j] = 0;
          for (int64_t i = 0; i < Dh; ++i) p16[j] += x16[at(t, q + i)] * x16[at(j, k + i)];
          mx = std::max(mx, p16[j]);
        }
        for (int64_t j = 0; j <= t; ++j) sum += (p16[j] = std::exp((p16[j] - mx) * scale));
        for (int64_t j = 0; j <= t; ++j) {
          p16[j] = round_bf16(p16[j] / sum);
          dp[j] = 0;
          for (int64_t i = 0; i < Dh; ++i) {
            e.out[y + i] += p16[j] * x16[at(j, v + i)];
            dp[j] += dy16[y + i] * x16[at(j, v + i)];
            e.dqkv[at(j, v + i)] += p16[j] * dy16[y + i];
          }
          dot += dp[j] * p16[j];
        }
        for (int64_t j = 0; j <= t; ++j) {
          const double ds16 = round_bf16(p16[j] * (dp[j] - dot) * scale);
          for (int64_t i = 0; i < Dh; ++i) {
            e.dqkv[at(t, q + i)] += ds16 * x16[at(j, k + i)];
            e.dqkv[at(j, k + i)] += ds16 * x16[at(t, q + i)];
          }
        }
      }
    }
  return e;
}

const Case kCases[] = {
    {{2, 5, 4, 2, 4}, true, RopeLayout::half_split, 1.0},     // GQA, full rotary
    {{1, 6, 2, 1, 6}, true, RopeLayout::interleaved, 2.0 / 3},  // multi-query, partial rotary
    {{1, 4, 3, 3, 2}, false, RopeLayout::half_split, 1.0},    // plain multi-head, no rope
    {{1, 70, 2, 1, 4}, true, RopeLayout::half_split, 1.0},    // longer than one query tile (64)
};

TEST(AttentionKernel, ForwardMatchesReference) {
  for (const Case& c : kCases) {
    Rng rng(c.d.T * 7 + c.d.H);
    auto qkv = testing::random_vector(rng, c.d.B * c.d.T * c.d.qkv_width());
    const auto expected = reference_attention(qkv, c);
    const auto got = run_forward<double>(qkv, c);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-12) << "T=" << c.d.T << " i=" << i;
    std::vector<float> qf(qkv.begin(), qkv.end());
    const auto gotf = run_forward<float>(qf, c);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(gotf[i], expected[i], 1e-5) << "float, T=" << c.d.T;
  }
}

TEST(AttentionKernel, BackwardMatchesFiniteDifferences) {
  for (const Case& c : kCases) {
    if (c.d.T > 10) continue;  // the long case is covered by the float-vs-double check below
    Rng rng(c.d.T * 3 + c.d.KV);
    const AttentionDims& d = c.d;
    auto qkv = testing::random_vector(rng, d.B * d.T * d.qkv_width());
    auto R = testing::random_vector(rng, d.B * d.T * d.H * d.Dh);
    auto loss = [&] { return testing::dot(run_forward<double>(qkv, c), R); };
    std::vector<double> probs, rotated, dprobs(d.B * d.H * d.T * d.T), dqkv(qkv.size(), 0.0);
    run_forward<double>(qkv, c, &probs, &rotated);
    kernels::attention_backward<double>(dqkv.data(), dprobs.data(), R.data(), probs.data(), rotated.data(), d);
    if (c.rope) kernels::rope_qkv_backward<double>(dqkv.data(), d, table_for<double>(c));
    testing::expect_gradients_match({{"qkv", &qkv, &dqkv}}, loss);
  }
}

// The float (oneDNN, tiled) backward against the double one, across several query tiles, and bf16:
// the oneDNN path (T = 150, Dh = 8) and, where the build has AVX512-BF16, the fused path (T and Dh
// multiples of 32), with and without the forward's saved bf16 copies. The bf16 modes are compared with
// emulated_bf16_attention on the same rotated inputs, so the tolerance is that of f32 arithmetic plus the
// rare value that rounds to the neighbouring bf16 number on one side only (and, for the bf16 d(qkv) of
// mode 3, the final rounding), not the bf16 error itself.
TEST(AttentionKernel, FloatAndBf16BackwardMatchDouble) {
  for (const Case& c : {Case{{2, 150, 4, 2, 8}, true, RopeLayout::half_split, 1.0},
                        Case{{2, 96, 4, 2, 32}, true, RopeLayout::half_split, 1.0},
                        Case{{1, 64, 2, 2, 64}, false, RopeLayout::half_split, 1.0},
                        Case{{1, 64, 4, 1, 32}, true, RopeLayout::interleaved, 0.5}}) {
  SCOPED_TRACE(::testing::Message() << "T=" << c.d.T << " Dh=" << c.d.Dh << " fused="
                                  << kernels::fused_bf16_attention_supports(c.d));
  const AttentionDims& d = c.d;
  Rng rng(99);
  auto qkv = testing::random_vector(rng, d.B * d.T * d.qkv_width());
  auto R = testing::random_vector(rng, d.B * d.T * d.H * d.Dh);
  std::vector<double> probs, rotated, dprobs(d.B * d.H * d.T * d.T), dqkv(qkv.size(), 0.0);
  run_forward<double>(qkv, c, &probs, &rotated);
  kernels::attention_backward<double>(dqkv.data(), dprobs.data(), R.data(), probs.data(), rotated.data(), d);
  kernels::rope_qkv_backward<double>(dqkv.data(), d, table_for<double>(c));
  std::vector<char> workspace(kernels::attention_workspace_bytes(d));
  std::vector<bf16> saved(kernels::attention_saved_elements(d));
  const auto rope_f = table_for<float>(c);
  // f32; bf16; bf16 keeping its copies in `saved`; that, delivering d(qkv) rotated back in bf16 with its
  // column sums (what the transformer's bf16 path uses)
  for (int mode : {0, 1, 2, 3}) {
    const bool bf = mode > 0;
    kernels::AttentionMatmul mm{bf, workspace.data(), mode >= 2 ? saved.data() : nullptr};
    std::vector<bf16> dq16(mode == 3 ? qkv.size() : 0);
    std::vector<float> bias(d.qkv_width(), 0.25f);
    if (mode == 3) {
      mm.dqkv16 = dq16.data();
      mm.dqkv_bias = bias.data();
      mm.rope = &rope_f;  // the reference rotates back in every case
    }
    std::vector<float> qf(qkv.begin(), qkv.end()), Rf(R.begin(), R.end()), pf, rf, dpf(dprobs.size()), dqf(qkv.size(), 0.0f);
    const auto outf = run_forward<float>(qf, c, &pf, &rf, mm);
    EmulatedBf16 emulated;
    std::vector<double> want_out = run_forward<double>(qkv, c), want_dqkv = dqkv;
    if (bf) {  // the same f32-rotated inputs, rounded where the kernels round
      emulated = emulated_bf16_attention(rf, R, d);
      want_out = emulated.out;
      want_dqkv = emulated.dqkv;
      kernels::rope_qkv_backward<double>(want_dqkv.data(), d, table_for<double>(c));
    }
    double worst_out = 0;
    for (size_t i = 0; i < want_out.size(); ++i)
      worst_out = std::max(worst_out, std::abs(outf[i] - want_out[i]) / (1 + std::abs(want_out[i])));
    EXPECT_LE(worst_out, bf ? 2e-6 : 1e-4) << "forward, mode " << mode;
    kernels::attention_backward<float>(dqf.data(), dpf.data(), Rf.data(), pf.data(), rf.data(), d, mm);
    if (mode == 3) {
      const int64_t W = d.qkv_width();
      for (int64_t j = 0; j < W; ++j) {
        double want = 0.25, scale = 1;
        for (int64_t r = 0; r < d.B * d.T; ++r) want += want_dqkv[r * W + j], scale += std::abs(want_dqkv[r * W + j]);
        EXPECT_NEAR(bias[j], want, 1e-3 * scale) << "bias column " << j;
      }
      for (size_t i = 0; i < qkv.size(); ++i) dqf[i] = bf16_to_float(dq16[i]);
    } else {
      kernels::rope_qkv_backward<float>(dqf.data(), d, rope_f);
    }
    double worst = 0;
    for (size_t i = 0; i < want_dqkv.size(); ++i) {
      // mode 3 rounds d(qkv) to bf16 at the end: a value near the middle of two bf16 numbers may go to
      // either, so one bf16 step (2^-8 relative) is allowed there
      const double rounding = mode == 3 ? std::abs(want_dqkv[i]) / 256 : 0;
      worst = std::max(worst, std::max(0.0, std::abs(dqf[i] - want_dqkv[i]) - rounding) / (1 + std::abs(want_dqkv[i])));
    }
    EXPECT_LE(worst, bf ? 5e-4 : 1e-4) << "mode " << mode;
  }
  }
}

// A bf16 output (the out projection's input in bf16 training) is the f32 output rounded once, on the
// fused path (T, Dh multiples of 32) and on the oneDNN path.
TEST(AttentionKernel, Bf16OutputIsTheRoundedF32Output) {
  for (const Case& c : {Case{{2, 64, 4, 2, 32}, true, RopeLayout::half_split, 1.0},
                        Case{{1, 40, 2, 1, 8}, true, RopeLayout::half_split, 1.0}}) {
    SCOPED_TRACE(::testing::Message() << "T=" << c.d.T << " Dh=" << c.d.Dh);
    const AttentionDims& d = c.d;
    Rng rng(21);
    auto qkv = testing::random_vector(rng, d.B * d.T * d.qkv_width());
    std::vector<float> qf(qkv.begin(), qkv.end());
    std::vector<char> workspace(kernels::attention_workspace_bytes(d));
    const auto f32 = run_forward<float>(qf, c, nullptr, nullptr, {true, workspace.data()});
    std::vector<bf16> out16(f32.size());
    kernels::AttentionMatmul mm{true, workspace.data()};
    mm.out16 = out16.data();
    run_forward<float>(qf, c, nullptr, nullptr, mm);
    for (size_t i = 0; i < f32.size(); ++i) ASSERT_EQ(bf16_to_float(out16[i]), bf16_to_float(float_to_bf16(f32[i]))) << i;
  }
}

// The fused f32 path (T, Dh multiples of 32, AVX-512 builds) keeps two numbers per query row instead of the
// probabilities and recomputes them in the backward; its results are the same at 1 and 2 threads
// (FloatAndBf16BackwardMatchDouble covers the accuracy). Other builds check the oneDNN path the same way.
TEST(AttentionKernel, FusedF32SameBitsAtOneAndTwoThreads) {
  const AttentionDims d{2, 64, 4, 2, 32};
#if defined(__AVX512F__)
  ASSERT_TRUE(kernels::fused_f32_attention_supports(d));
#else
  ASSERT_FALSE(kernels::fused_f32_attention_supports(d));
#endif
  Rng rng(31);
  const auto qkv = testing::random_vector(rng, d.B * d.T * d.qkv_width());
  const auto dy = testing::random_vector(rng, d.B * d.T * d.H * d.Dh);
  std::vector<float> qf(qkv.begin(), qkv.end()), dyf(dy.begin(), dy.end());
  auto run = [&](int threads) {
    const int before = num_threads();
    set_num_threads(threads);
    std::vector<float> out(dyf.size()), probs(d.B * d.H * d.T * d.T), dprobs(probs.size()), dqkv(qf.size());
    kernels::attention_forward<float>(out.data(), probs.data(), qf.data(), d);
    kernels::attention_backward<float>(dqkv.data(), dprobs.data(), dyf.data(), probs.data(), qf.data(), d);
    set_num_threads(before);
    out.insert(out.end(), dqkv.begin(), dqkv.end());
    return out;
  };
  const auto one = run(1), two = run(2);
  for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], two[i]) << i;
}

TEST(AttentionKernel, DecodeWithCacheMatchesFullForward) {
  const Case c{{1, 20, 4, 2, 8}, true, RopeLayout::half_split, 1.0};
  const AttentionDims& d = c.d;
  Rng rng(5);
  auto qkv = testing::random_vector(rng, d.T * d.qkv_width());
  std::vector<float> qf(qkv.begin(), qkv.end()), rotated;
  const auto full = run_forward<float>(qf, c, nullptr, &rotated);
  const int64_t W = d.qkv_width(), max_T = 32;
  std::vector<float> kc(d.KV * max_T * d.Dh), vc(kc.size()), out(d.H * d.Dh);
  for (int64_t t = 0; t < d.T; ++t) {
    for (int64_t h = 0; h < d.KV; ++h)
      for (int64_t i = 0; i < d.Dh; ++i) {
        kc[(h * max_T + t) * d.Dh + i] = rotated[t * W + (d.H + h) * d.Dh + i];
        vc[(h * max_T + t) * d.Dh + i] = rotated[t * W + (d.H + d.KV + h) * d.Dh + i];
      }
    kernels::attention_decode<float>(out.data(), rotated.data() + t * W, kc.data(), vc.data(), d.H, d.KV, d.Dh, max_T, t);
    for (int64_t i = 0; i < d.H * d.Dh; ++i) ASSERT_NEAR(out[i], full[t * d.H * d.Dh + i], 1e-5) << "t=" << t;
  }
}

// RoPE makes q(m) . k(n) depend only on m - n.
TEST(RopeKernel, DotProductDependsOnlyOnOffset) {
  RopeSpec spec;
  spec.head_dim = 8;
  const auto table = kernels::make_rope_table<double>(spec, 20);
  Rng rng(1);
  const auto q = testing::random_vector(rng, 8), k = testing::random_vector(rng, 8);
  auto rotated_dot = [&](int64_t m, int64_t n) {
    auto a = q, b = k;
    kernels::rope_rotate<double>(a.data(), 1, m, table, false);
    kernels::rope_rotate<double>(b.data(), 1, n, table, false);
    return testing::dot(a, b);
  };
  EXPECT_NEAR(rotated_dot(5, 2), rotated_dot(13, 10), 1e-12);
  EXPECT_NEAR(rotated_dot(7, 7), testing::dot(q, k), 1e-12);
  EXPECT_GT(std::abs(rotated_dot(5, 2) - rotated_dot(5, 3)), 1e-6);
}

TEST(AttentionKernel, RejectsBadHeadCounts) {
  std::vector<float> buf(1000);
  EXPECT_THROW(kernels::attention_forward<float>(buf.data(), buf.data(), buf.data(), {1, 2, 3, 2, 4}), Error);
}

}  // namespace
}  // namespace rotor

namespace rotor {
namespace {

// The fused bf16 helpers equal their two-step forms: rotate (bf16 in place) then round; rotate back
// then prepare. The cases cover the vector path (half-split, rotary pairs a multiple of 16, with and
// without pass-through channels) and the general one. Values may differ by one bf16 rounding step
// where the two forms contract multiply-adds differently.
TEST(AttentionKernel, FusedRopeBf16HelpersMatchTwoSteps) {
  auto near_bf16 = [](bf16 a, float want) {
    return std::abs(bf16_to_float(a) - want) <= std::abs(want) * (1.0f / 128) + 1e-30f;
  };
  for (const Case& c : {Case{{2, 7, 4, 2, 8}, true, RopeLayout::interleaved, 0.5},
                        Case{{1, 5, 2, 1, 32}, true, RopeLayout::half_split, 1.0},
                        Case{{1, 6, 2, 2, 64}, true, RopeLayout::half_split, 0.5}}) {
    const AttentionDims& d = c.d;
    const int64_t n = d.B * d.T * d.qkv_width(), W = d.qkv_width();
    Rng rng(17);
    std::vector<float> x(n);
    for (auto& v : x) v = float(rng.normal());
    const auto rope = table_for<float>(c);
    for (const kernels::RopeTable<float>* table : {&rope, static_cast<const kernels::RopeTable<float>*>(nullptr)}) {
      std::vector<float> back = x;
      if (table) kernels::rope_qkv_backward<float>(back.data(), d, *table);
      std::vector<bf16> fused(n), fused_back(n);
      if (table) {  // in place on bf16 values: rotate the rounded values, round again
        std::vector<float> rounded(n);
        for (int64_t i = 0; i < n; ++i) fused[i] = float_to_bf16(x[i]), rounded[i] = bf16_to_float(fused[i]);
        kernels::rope_qkv_forward<float>(rounded.data(), d, *table);
        kernels::rope_qkv_forward_bf16(fused.data(), d, *table);
        for (int64_t i = 0; i < n; ++i) ASSERT_TRUE(near_bf16(fused[i], rounded[i])) << "Dh=" << d.Dh << " i=" << i;
      }
      std::vector<float> bias_fused(W, 1.0f);
      kernels::rope_qkv_backward_prepare_bf16(fused_back.data(), bias_fused.data(), x.data(), d, table);
      for (int64_t i = 0; i < n; ++i) ASSERT_TRUE(near_bf16(fused_back[i], back[i])) << "Dh=" << d.Dh << " i=" << i;
      for (int64_t j = 0; j < W; ++j) {
        double sum = 1.0;
        for (int64_t r = 0; r < d.B * d.T; ++r) sum += back[r * W + j];
        EXPECT_NEAR(bias_fused[j], sum, 1e-4) << j;
      }
    }
  }
}

}  // namespace
}  // namespace rotor
