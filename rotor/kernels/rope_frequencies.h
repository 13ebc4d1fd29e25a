#pragma once
// Rotary position embedding (RoPE, RoFormer): the per-pair inverse frequencies and the attention
// scale, including context-extension schemes. The rotation itself (both pair layouts, forward and
// backward) lives in the attention kernels, which take the frequencies computed here.
//
// Pair i of the rotary part of a head (0 <= i < rotary_dim/2) turns by angle  pos * inv_freq[i].
#include <cstdint>
#include <string>
#include <vector>

namespace rotor::kernels {

enum class RopeLayout {
  half_split,   // GPT-NeoX / LLaMA (HF): pairs (x[i], x[i + rotary_dim/2])
  interleaved,  // GPT-J / RoFormer: pairs (x[2i], x[2i + 1])
};

// Context-extension schemes, with the formulas of Hugging Face transformers (modeling_rope_utils):
//  - linear (position interpolation): inv_freq / factor.
//  - dynamic NTK: once the processed length L exceeds the pretrained context P, the base becomes
//      theta * (factor * L / P - (factor - 1)) ^ (d / (d - 2))      (d = rotary dim); unchanged for L <= P.
//    Hugging Face uses P = max_position_embeddings of the config.
//  - YaRN ("NTK-by-parts" + attention temperature): with the correction dimension
//      c(r) = d * ln(P / (2 pi r)) / (2 ln theta),
//    low = floor(c(beta_fast)) clamped to >= 0, high = ceil(c(beta_slow)) clamped to <= d - 1 (no
//    floor/ceil when truncate is false), ramp_i = clamp((i - low) / (high - low), 0, 1) over pair i,
//    inv_freq_i = ramp_i * base_i / factor + (1 - ramp_i) * base_i, and cos/sin are multiplied by the
//    attention factor (default 0.1 ln(factor) + 1, or 1 when factor <= 1).
struct RopeScaling {
  enum class Kind { none, linear, dynamic, yarn };
  Kind kind = Kind::none;
  double factor = 1.0;                   // context extension factor (> 1 extends)
  int64_t original_max_positions = 0;    // the pretrained context P (dynamic NTK and YaRN)
  double beta_fast = 32.0, beta_slow = 1.0;  // YaRN ramp bounds (in rotations)
  double attention_factor = 0.0;         // YaRN: 0 means the default 0.1*ln(factor)+1
  bool truncate = true;                  // YaRN: round the ramp bounds to whole pairs
};

struct RopeSpec {
  int64_t head_dim = 0;
  double theta = 10000.0;                // base
  double partial_rotary_factor = 1.0;    // fraction of head_dim that is rotated
  RopeLayout layout = RopeLayout::half_split;
  RopeScaling scaling;
};

// Number of rotated channels per head (even; the rest pass through unchanged).
int64_t rope_rotary_dim(const RopeSpec& spec);

// inv_freq[i] for i in [0, rotary_dim/2). `seq_len` is the length being processed; only dynamic NTK
// scaling depends on it (it changes the base once seq_len exceeds original_max_positions).
std::vector<float> rope_inverse_frequencies(const RopeSpec& spec, int64_t seq_len);
// The same in double precision (for float64 reference paths); the float version rounds these.
std::vector<double> rope_inverse_frequencies_f64(const RopeSpec& spec, int64_t seq_len);

// Factor applied to cos/sin (YaRN's attention temperature); 1 for the other schemes.
float rope_attention_factor(const RopeSpec& spec);
double rope_attention_factor_f64(const RopeSpec& spec);

// Parse "none", "linear", "dynamic", "yarn".
RopeScaling::Kind rope_scaling_kind_from_name(const std::string& name);
const char* rope_scaling_kind_name(RopeScaling::Kind kind);

}  // namespace rotor::kernels
