#include "rotor/kernels/rope_frequencies.h"

#include <algorithm>
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

namespace {

constexpr double kPi = 3.14159265358979323846;

// YaRN: the (fractional) pair index whose wavelength makes `rotations` turns over `positions`.
double yarn_correction_dim(double rotations, int64_t dim, double theta, int64_t positions) {
  return static_cast<double>(dim) * std::log(static_cast<double>(positions) / (rotations * 2.0 * kPi)) /
         (2.0 * std::log(theta));
}

void check_scaling(const RopeSpec& spec, int64_t dim) {
  const RopeScaling& s = spec.scaling;
  const char* name = rope_scaling_kind_name(s.kind);
  if (s.kind == RopeScaling::Kind::none) return;
  ROTOR_CHECK(std::isfinite(s.factor) && s.factor >= 1.0, "rope: ", name, " scaling factor must be >= 1, got ",
              s.factor);
  if (s.kind == RopeScaling::Kind::linear) return;
  ROTOR_CHECK(s.original_max_positions > 0, "rope: ", name,
              " scaling needs the pretrained context length (original_max_positions), got ",
              s.original_max_positions);
  if (s.kind == RopeScaling::Kind::dynamic) {
    ROTOR_CHECK(dim > 2, "rope: dynamic NTK scaling needs a rotary dimension above 2, got ", dim);
    return;
  }
  ROTOR_CHECK(spec.theta > 1.0, "rope: YaRN needs theta > 1, got ", spec.theta);
  ROTOR_CHECK(s.beta_fast > 0 && s.beta_slow > 0, "rope: YaRN beta_fast and beta_slow must be positive, got ",
              s.beta_fast, " and ", s.beta_slow);
  ROTOR_CHECK(s.attention_factor >= 0 && std::isfinite(s.attention_factor),
              "rope: YaRN attention_factor must be positive (0 for the default), got ", s.attention_factor);
}

}  // namespace

std::vector<double> rope_inverse_frequencies_f64(const RopeSpec& spec, int64_t seq_len) {
  const int64_t dim = rope_rotary_dim(spec);
  ROTOR_CHECK(spec.theta > 0 && std::isfinite(spec.theta), "rope: theta must be positive, got ", spec.theta);
  check_scaling(spec, dim);
  const RopeScaling& s = spec.scaling;
  const int64_t pairs = dim / 2;

  double theta = spec.theta;
  if (s.kind == RopeScaling::Kind::dynamic) {
    // The base grows with the processed length once it exceeds the pretrained context.
    const double length = static_cast<double>(std::max(seq_len, s.original_max_positions));
    const double ratio = s.factor * length / static_cast<double>(s.original_max_positions) - (s.factor - 1.0);
    theta *= std::pow(ratio, static_cast<double>(dim) / static_cast<double>(dim - 2));
  }

  std::vector<double> inv(static_cast<size_t>(pairs));
  for (int64_t i = 0; i < pairs; ++i)
    inv[i] = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(dim));

  switch (s.kind) {
    case RopeScaling::Kind::none:
    case RopeScaling::Kind::dynamic:
      break;
    case RopeScaling::Kind::linear:
      for (double& f : inv) f /= s.factor;
      break;
    case RopeScaling::Kind::yarn: {
      double low = yarn_correction_dim(s.beta_fast, dim, theta, s.original_max_positions);
      double high = yarn_correction_dim(s.beta_slow, dim, theta, s.original_max_positions);
      if (s.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
      }
      low = std::max(low, 0.0);
      high = std::min(high, static_cast<double>(dim - 1));
      if (low == high) high += 0.001;  // as in Hugging Face: avoid a zero-width ramp
      for (int64_t i = 0; i < pairs; ++i) {
        // ramp 0: keep the original frequency (extrapolate); ramp 1: divide by factor (interpolate).
        const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
        inv[i] = ramp * inv[i] / s.factor + (1.0 - ramp) * inv[i];
      }
      break;
    }
  }
  return inv;
}

std::vector<float> rope_inverse_frequencies(const RopeSpec& spec, int64_t seq_len) {
  const std::vector<double> inv = rope_inverse_frequencies_f64(spec, seq_len);
  return std::vector<float>(inv.begin(), inv.end());
}

double rope_attention_factor_f64(const RopeSpec& spec) {
  if (spec.scaling.kind != RopeScaling::Kind::yarn) return 1.0;
  check_scaling(spec, rope_rotary_dim(spec));
  if (spec.scaling.attention_factor > 0) return spec.scaling.attention_factor;
  return spec.scaling.factor <= 1.0 ? 1.0 : 0.1 * std::log(spec.scaling.factor) + 1.0;
}

float rope_attention_factor(const RopeSpec& spec) { return static_cast<float>(rope_attention_factor_f64(spec)); }

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
