#pragma once
// IDX: the format of the MNIST family of data sets (LeCun's MNIST page; Fashion-MNIST ships the same).
//
//   bytes 0-1  zero
//   byte  2    type code: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
//   byte  3    number of dimensions d (1 or more)
//   then d big-endian u32 sizes, then the elements big-endian, row-major, nothing after them.
//
// Files may be gzip-compressed (the .gz files Debian's dataset-fashion-mnist installs); compression is
// recognised by its magic bytes and undone with zlib. The tensor's dtype: u8 stays u8; i8, i16 and i32
// become i32; f32 and f64 stay. Bad magic, an unknown type code, a size of zero dimensions, truncated
// data or bytes after the data are errors naming the file.
#include <string>
#include <string_view>

#include "rotor/core/tensor.h"

namespace rotor::io {

Tensor parse_idx(std::string_view bytes, const std::string& label = "<memory>");  // bytes uncompressed
Tensor load_idx(const std::string& path);                                         // plain or gzip

// gzip (or zlib) stream -> bytes; `label` names the source in errors.
std::string gunzip(std::string_view bytes, const std::string& label);

// An image classification set as the MNIST family stores it: images [N, H, W] u8 and labels [N]
// (i32); the two files must hold the same N.
struct ImageSet {
  Tensor images;  // [N, H, W] u8
  Tensor labels;  // [N] i32
};
ImageSet load_idx_image_set(const std::string& images_path, const std::string& labels_path);

// Fashion-MNIST's train (60k) or test (10k) split from `dir` (Debian: /usr/share/datasets/fashion-mnist,
// the file names train-images-idx3-ubyte.gz etc., with or without .gz).
constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
ImageSet load_fashion_mnist(const std::string& dir, bool train);

}  // namespace rotor::io
