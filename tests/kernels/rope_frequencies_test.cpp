// RoPE inverse frequencies and attention factors against a float64 PyTorch reference written from the
// Hugging Face formulas (tests/kernels/make_rope_reference.py -> tests/kernels/data/rope_reference.json).
#include "rotor/kernels/rope_frequencies.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rotor/core/error.h"

namespace rotor::kernels {
namespace {

nlohmann::json load_reference() {
  const std::string path = std::string(ROTOR_SOURCE_DIR) + "/tests/kernels/data/rope_reference.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return nlohmann::json::parse(in);
}

RopeSpec spec_from_case(const nlohmann::json& c) {
  RopeSpec spec;
  spec.head_dim = c.at("head_dim").get<int64_t>();
  spec.theta = c.at("theta").get<double>();
  spec.partial_rotary_factor = c.at("partial_rotary_factor").get<double>();
  spec.scaling.kind = rope_scaling_kind_from_name(c.at("kind").get<std::string>());
  spec.scaling.factor = c.value("factor", 1.0);
  spec.scaling.original_max_positions = c.value("original_max_positions", int64_t{0});
  spec.scaling.beta_fast = c.value("beta_fast", 32.0);
  spec.scaling.beta_slow = c.value("beta_slow", 1.0);
  spec.scaling.attention_factor = c.value("attention_factor", 0.0);
  spec.scaling.truncate = c.value("truncate", true);
  return spec;
}

TEST(RopeFrequencies, MatchFloat64ReferenceForEveryScheme) {
  const nlohmann::json cases = load_reference();
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const RopeSpec spec = spec_from_case(c);
    const int64_t seq_len = c.value("seq_len", int64_t{1});
    const std::vector<double> expected = c.at("inv_freq").get<std::vector<double>>();
    const std::vector<double> got = rope_inverse_frequencies_f64(spec, seq_len);
    const std::vector<float> got_f32 = rope_inverse_frequencies(spec, seq_len);
    ASSERT_EQ(got.size(), expected.size());
    ASSERT_EQ(got_f32.size(), expected.size());
    EXPECT_EQ(rope_rotary_dim(spec), static_cast<int64_t>(2 * expected.size()));
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_NEAR(got[i], expected[i], 1e-13 * std::abs(expected[i])) << "pair " << i;
      EXPECT_NEAR(got_f32[i], expected[i], 1e-7 * std::abs(expected[i])) << "pair " << i;
    }
    const double attention = c.at("attention_factor_expected").get<double>();
    EXPECT_NEAR(rope_attention_factor_f64(spec), attention, 1e-14);
    EXPECT_NEAR(rope_attention_factor(spec), attention, 1e-6);
  }
}

TEST(RopeFrequencies, DynamicNtkChangesOnlyBeyondThePretrainedContext) {
  RopeSpec spec;
  spec.head_dim = 32;
  spec.scaling.kind = RopeScaling::Kind::dynamic;
  spec.scaling.factor = 2.0;
  spec.scaling.original_max_positions = 64;
  RopeSpec plain = spec;
  plain.scaling = RopeScaling{};
  EXPECT_EQ(rope_inverse_frequencies_f64(spec, 10), rope_inverse_frequencies_f64(plain, 10));
  const auto longer = rope_inverse_frequencies_f64(spec, 65), longest = rope_inverse_frequencies_f64(spec, 500);
  EXPECT_EQ(longer[0], 1.0);  // pair 0 never turns slower
  for (size_t i = 1; i < longer.size(); ++i) {
    EXPECT_LT(longer[i], rope_inverse_frequencies_f64(plain, 65)[i]);
    EXPECT_LT(longest[i], longer[i]);
  }
}

TEST(RopeFrequencies, YarnKeepsFastPairsAndInterpolatesSlowOnes) {
  RopeSpec spec;
  spec.head_dim = 64;
  spec.scaling.kind = RopeScaling::Kind::yarn;
  spec.scaling.factor = 4.0;
  spec.scaling.original_max_positions = 4096;
  RopeSpec plain = spec;
  plain.scaling = RopeScaling{};
  const auto yarn = rope_inverse_frequencies_f64(spec, 1), base = rope_inverse_frequencies_f64(plain, 1);
  EXPECT_DOUBLE_EQ(yarn.front(), base.front());
  EXPECT_DOUBLE_EQ(yarn.back(), base.back() / 4.0);
  EXPECT_NEAR(rope_attention_factor_f64(spec), 0.1 * std::log(4.0) + 1.0, 1e-15);
}

TEST(RopeFrequencies, RejectsBadScalingParameters) {
  RopeSpec spec;
  spec.head_dim = 16;
  spec.scaling.kind = RopeScaling::Kind::dynamic;
  spec.scaling.factor = 2.0;
  EXPECT_THROW(rope_inverse_frequencies(spec, 8), Error);  // no pretrained context
  spec.scaling.original_max_positions = 32;
  spec.scaling.factor = 0.5;
  EXPECT_THROW(rope_inverse_frequencies(spec, 8), Error);
  spec.scaling.kind = RopeScaling::Kind::yarn;
  spec.scaling.factor = 2.0;
  spec.scaling.beta_slow = -1;
  EXPECT_THROW(rope_inverse_frequencies(spec, 8), Error);
  spec.scaling.beta_slow = 1;
  spec.head_dim = 2;
  spec.scaling.kind = RopeScaling::Kind::dynamic;
  EXPECT_THROW(rope_inverse_frequencies(spec, 8), Error);  // d / (d - 2) undefined
  spec.head_dim = 16;
  spec.partial_rotary_factor = 0.3;  // 4.8 -> 4 channels: fine
  EXPECT_EQ(rope_rotary_dim(spec), 4);
  spec.partial_rotary_factor = 0.2;  // 3.2 -> 3 channels: odd
  EXPECT_THROW(rope_rotary_dim(spec), Error);
  EXPECT_THROW(rope_scaling_kind_from_name("longrope"), Error);
}

}  // namespace
}  // namespace rotor::kernels
