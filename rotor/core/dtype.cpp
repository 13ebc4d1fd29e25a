#include "rotor/core/dtype.h"

#include <cmath>

#include "rotor/core/error.h"

namespace rotor {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::bf16: return 2;
    case DType::f16: return 2;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::u8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::u8: return "u8";
  }
  return "?";
}

DType dtype_from_name(const std::string& name) {
  for (DType t : {DType::f32, DType::bf16, DType::f16, DType::f64, DType::i32, DType::i64, DType::u8})
    if (name == dtype_name(t)) return t;
  throw Error(cat("unknown dtype '", name, "' (expected f32, bf16, f16, f64, i32, i64 or u8)"));
}

bool dtype_is_floating(DType t) {
  return t == DType::f32 || t == DType::bf16 || t == DType::f16 || t == DType::f64;
}

float f16_to_float(f16 v) {
  const uint32_t sign = (v.bits >> 15) & 1u, exp = (v.bits >> 10) & 0x1fu, mant = v.bits & 0x3ffu;
  float magnitude;
  if (exp == 0) magnitude = std::ldexp(static_cast<float>(mant), -24);            // subnormal or zero
  else if (exp == 31) magnitude = mant ? NAN : INFINITY;
  else magnitude = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
  return sign ? -magnitude : magnitude;
}

f16 float_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return f16{static_cast<uint16_t>(sign | 0x7e00u)};
  if (a >= 65520.0f) return f16{static_cast<uint16_t>(sign | 0x7c00u)};  // overflows to infinity
  if (a < 6.103515625e-05f) {  // subnormal range: round to a multiple of 2^-24
    const float q = std::nearbyint(a * 16777216.0f);
    return f16{static_cast<uint16_t>(sign | static_cast<uint16_t>(q))};
  }
  int e;
  const float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  uint32_t mant = static_cast<uint32_t>(std::nearbyint((m * 2.0f - 1.0f) * 1024.0f));
  int exp = e - 1 + 15;
  if (mant == 1024) { mant = 0; ++exp; }
  return f16{static_cast<uint16_t>(sign | (exp << 10) | mant)};
}

}  // namespace rotor
