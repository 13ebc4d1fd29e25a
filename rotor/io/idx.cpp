#include "rotor/io/idx.h"

#include <zlib.h>

#include <cstring>
#include <filesystem>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::io {

namespace {

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Bytes per element of an IDX type code (0 for an unknown code).
int element_bytes(unsigned char code) {
  switch (code) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
  }
}

DType tensor_dtype(unsigned char code) {
  switch (code) {
    case 0x08: return DType::u8;
    case 0x0D: return DType::f32;
    case 0x0E: return DType::f64;
    default: return DType::i32;
  }
}

// The n big-endian elements at src as host values, written into out (of the tensor's dtype).
void decode(unsigned char code, const unsigned char* src, int64_t n, void* out) {
  const int b = element_bytes(code);
  for (int64_t i = 0; i < n; ++i) {
    const unsigned char* p = src + i * b;
    switch (code) {
      case 0x08: static_cast<uint8_t*>(out)[i] = p[0]; break;
      case 0x09: static_cast<int32_t*>(out)[i] = static_cast<int8_t>(p[0]); break;
      case 0x0B: static_cast<int32_t*>(out)[i] = static_cast<int16_t>((uint16_t(p[0]) << 8) | p[1]); break;
      case 0x0C: static_cast<int32_t*>(out)[i] = static_cast<int32_t>(big_endian_u32(p)); break;
      case 0x0D: {
        const uint32_t u = big_endian_u32(p);
        std::memcpy(static_cast<float*>(out) + i, &u, 4);
        break;
      }
      case 0x0E: {
        const uint64_t u = (uint64_t(big_endian_u32(p)) << 32) | big_endian_u32(p + 4);
        std::memcpy(static_cast<double*>(out) + i, &u, 8);
        break;
      }
    }
  }
}

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

}  // namespace

Tensor parse_idx(std::string_view bytes, const std::string& label) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  ROTOR_CHECK(bytes.size() >= 4 && p[0] == 0 && p[1] == 0, "idx: ", label,
              ": bad magic (an IDX file starts with two zero bytes, a type code and a dimension count)");
  const unsigned char code = p[2];
  const int width = element_bytes(code);
  ROTOR_CHECK(width > 0, "idx: ", label, ": unknown type code 0x", std::hex, int(code),
              " (known: 0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32, 0x0e f64)");
  const int dims = p[3];
  ROTOR_CHECK(dims >= 1, "idx: ", label, ": zero dimensions");
  const size_t header = 4 + 4 * static_cast<size_t>(dims);
  ROTOR_CHECK(bytes.size() >= header, "idx: ", label, ": truncated header (", bytes.size(), " bytes, ", dims,
              " dimensions need ", header, ")");
  Shape shape;
  uint64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    const uint32_t size = big_endian_u32(p + 4 + 4 * d);
    shape.push_back(size);
    count *= size;
    ROTOR_CHECK(count <= (uint64_t(1) << 40), "idx: ", label, ": sizes ", shape_str(shape), "... are too large");
  }
  const uint64_t want = header + count * static_cast<uint64_t>(width);
  ROTOR_CHECK(bytes.size() >= want, "idx: ", label, ": truncated data: sizes ", shape_str(shape), " need ", want,
              " bytes, the file has ", bytes.size());
  ROTOR_CHECK(bytes.size() == want, "idx: ", label, ": ", bytes.size() - want, " bytes after the ",
              shape_str(shape), " elements");
  Tensor t = Tensor::empty(shape, tensor_dtype(code));
  decode(code, p + header, static_cast<int64_t>(count), t.raw_data());
  return t;
}

std::string gunzip(std::string_view bytes, const std::string& label) {
  z_stream z{};
  ROTOR_CHECK(inflateInit2(&z, 15 + 32) == Z_OK, "gzip: ", label, ": zlib would not start");  // +32: gzip or zlib
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  char buffer[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string why = rc == Z_BUF_ERROR ? "truncated" : (z.msg ? z.msg : "corrupt");
      inflateEnd(&z);
      throw Error(cat("gzip: ", label, ": ", why, " compressed data"));
    }
    out.append(buffer, sizeof buffer - z.avail_out);
  }
  const bool trailing = z.avail_in != 0;
  inflateEnd(&z);
  ROTOR_CHECK(!trailing, "gzip: ", label, ": bytes after the compressed stream");
  return out;
}

Tensor load_idx(const std::string& path) {
  const std::string bytes = read_file(path);
  return is_gzip(bytes) ? parse_idx(gunzip(bytes, path), path) : parse_idx(bytes, path);
}

ImageSet load_idx_image_set(const std::string& images_path, const std::string& labels_path) {
  ImageSet set{load_idx(images_path), load_idx(labels_path)};
  ROTOR_CHECK(set.images.dim() == 3 && set.images.dtype() == DType::u8, "idx: ", images_path,
              ": images must be u8 [N, H, W], got ", dtype_name(set.images.dtype()), " ", shape_str(set.images.shape()));
  ROTOR_CHECK(set.labels.dim() == 1, "idx: ", labels_path, ": labels must be [N], got ",
              shape_str(set.labels.shape()));
  ROTOR_CHECK(set.labels.size(0) == set.images.size(0), "idx: ", labels_path, " holds ", set.labels.size(0),
              " labels but ", images_path, " holds ", set.images.size(0), " images");
  set.labels = set.labels.to(DType::i32);
  return set;
}

ImageSet load_fashion_mnist(const std::string& dir, bool train) {
  namespace fs = std::filesystem;
  const std::string prefix = train ? "train" : "t10k";
  auto find = [&](const std::string& kind) {
    const fs::path base = fs::path(dir) / (prefix + "-" + kind);
    if (fs::exists(base.string() + ".gz")) return base.string() + ".gz";
    ROTOR_CHECK(fs::exists(base), "fashion-mnist: neither ", base.string(), ".gz nor ", base.string(),
                " exists (Debian's dataset-fashion-mnist installs them in ", kFashionMnistDir, ")");
    return base.string();
  };
  return load_idx_image_set(find("images-idx3-ubyte"), find("labels-idx1-ubyte"));
}

}  // namespace rotor::io
