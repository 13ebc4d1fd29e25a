#pragma once
// Element types of a Tensor, and bfloat16/float16 conversions.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace rotor {

enum class DType : uint8_t { f32, bf16, f16, f64, i32, i64, u8 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);          // "f32", "bf16", ...
DType dtype_from_name(const std::string& name);  // inverse of dtype_name; throws on unknown names
bool dtype_is_floating(DType t);

// bfloat16 stored as its 16 raw bits. Conversion from float rounds to nearest even; NaN stays NaN.
struct bf16 {
  uint16_t bits = 0;
};

inline float bf16_to_float(bf16 v) {
  uint32_t u = static_cast<uint32_t>(v.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline bf16 float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{static_cast<uint16_t>((u >> 16) | 0x40)};  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16{static_cast<uint16_t>(u >> 16)};
}

// IEEE half precision (used only for reading/writing files).
struct f16 {
  uint16_t bits = 0;
};
float f16_to_float(f16 v);
f16 float_to_f16(float f);

// Map a C++ element type to its DType.
template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<bf16> { static constexpr DType value = DType::bf16; };
template <> struct dtype_of<f16> { static constexpr DType value = DType::f16; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };

}  // namespace rotor
