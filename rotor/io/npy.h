#pragma once
// NPY: NumPy's single-array file format.
//
//   "\x93NUMPY" major minor, header length (u16 for version 1.0, u32 for 2.0/3.0), then a Python dict
//   literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and '\n' so
//   that the data starts at a multiple of 64 bytes, then the raw little-endian elements.
//
// The writer produces version 1.0 byte-for-byte as numpy.save does (f32, f64, f16, i32, i64, u8; bf16
// has no NumPy dtype and is rejected). The reader accepts versions 1.0, 2.0 and 3.0, C or Fortran
// order (returned as a C-contiguous tensor), little-endian '<f4' '<f8' '<f2' '<i4' '<i8' and '|u1';
// anything else (big-endian, bool, structured dtypes, object arrays) is rejected with rotor::Error.
#include <string>
#include <string_view>

#include "rotor/core/tensor.h"

namespace rotor::io {

Tensor parse_npy(std::string_view bytes, const std::string& label = "<memory>");
Tensor load_npy(const std::string& path);

std::string serialize_npy(const Tensor& tensor);
void save_npy(const std::string& path, const Tensor& tensor);  // atomic: temporary file, then rename

}  // namespace rotor::io
