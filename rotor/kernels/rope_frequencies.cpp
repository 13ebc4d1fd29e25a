#include "rotor/kernels/rope_frequencies.h"

#include <cmath>

#include "rotor/core/error.h"

namespace rotor::kernels {

int64_t rope_rotary_dim(const RopeSpec& spec) {
  ROTOR_CHECK(spec.head_dim > 0, "rope: head dimension must be positive, got ", spec.head_dim);
  ROTOR_CHECK(spec.partial_rotary_factor > 0 && spec.partial_rotary_factor <= 1.0,
              "rope: partial_rotary_factor must be in (0, 1], got ", spec.partial_rotary_factor);
  const int64_t d = static_cast<int64_t>(static_cast<double>(spec.head_dim) * spec.partial_rotary_factor);
  ROTOR_CHECK(d >= 2 && d % 2 == 0, "rope: rotary dimension ", d, " (head_dim ", spec.head_dim,
              " x partial_rotary_factor ", spec.partial_rotary_factor, ") must be even and at least 2");
  return d;
}

std::vector<float> rope_inverse_frequencies(const RopeSpec& spec, int64_t seq_len) {
  const int64_t dim = rope_rotary_dim(spec);
  ROTOR_CHECK(spec.theta > 0, "rope: theta must be positive, got ", spec.theta);
  std::vector<float> inv(static_cast<size_t>(dim / 2));
  for (int64_t i = 0; i < dim / 2; ++i)
    inv[i] = static_cast<float>(std::pow(spec.theta, -2.0 * static_cast<double>(i) / static_cast<double>(dim)));
  switch (spec.scaling.kind) {
    case RopeScaling::Kind::none:
      break;
    case RopeScaling::Kind::linear:
      ROTOR_CHECK(spec.scaling.factor >= 1.0, "rope: linear scaling factor must be >= 1, got ", spec.scaling.factor);
      for (float& f : inv) f = static_cast<float>(f / spec.scaling.factor);
      break;
    case RopeScaling::Kind::dynamic:
    case RopeScaling::Kind::yarn:
      throw Error(cat("rope: scaling '", rope_scaling_kind_name(spec.scaling.kind), "' is not supported yet"));
  }
  (void)seq_len;
  return inv;
}

float rope_attention_factor(const RopeSpec& spec) {
  if (spec.scaling.kind != RopeScaling::Kind::yarn) return 1.0f;
  throw Error("rope: scaling 'yarn' is not supported yet");
}

RopeScaling::Kind rope_scaling_kind_from_name(const std::string& name) {
  for (auto k : {RopeScaling::Kind::none, RopeScaling::Kind::linear, RopeScaling::Kind::dynamic,
                 RopeScaling::Kind::yarn})
    if (name == rope_scaling_kind_name(k)) return k;
  throw Error(cat("rope: unknown scaling type '", name, "' (expected none, linear, dynamic or yarn)"));
}

const char* rope_scaling_kind_name(RopeScaling::Kind kind) {
  switch (kind) {
    case RopeScaling::Kind::none: return "none";
    case RopeScaling::Kind::linear: return "linear";
    case RopeScaling::Kind::dynamic: return "dynamic";
    case RopeScaling::Kind::yarn: return "yarn";
  }
  return "?";
}

}  // namespace rotor::kernels
