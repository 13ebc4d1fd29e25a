#include "rotor/io/png.h"

#include <png.h>

#include <csetjmp>
#include <algorithm>
#include <cmath>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::io {

namespace {

void append_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), length);
}

void flush_nothing(png_structp) {}

void ignore_warning(png_structp, png_const_charp) {}

// libpng reports errors by longjmp to png_jmpbuf; the rows are written in this C-style function so that
// no C++ object lives across the jump. Returns false when libpng failed.
bool write_rows(png_structp png, png_infop info, std::string* out, const uint8_t* pixels, int64_t width,
                int64_t height) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, out, append_bytes, flush_nothing);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int64_t y = 0; y < height; ++y) png_write_row(png, const_cast<png_bytep>(pixels + y * width));
  png_write_end(png, nullptr);
  return true;
}

}  // namespace

std::string encode_png_gray(const std::vector<uint8_t>& pixels, int64_t width, int64_t height) {
  ROTOR_CHECK(width >= 1 && height >= 1 && width <= (1 << 20) && height <= (1 << 20), "png: image size ", width, "x",
              height, " is out of range");
  ROTOR_CHECK(static_cast<int64_t>(pixels.size()) == width * height, "png: ", pixels.size(), " pixels for a ", width,
              "x", height, " image");
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, ignore_warning);
  ROTOR_CHECK(png != nullptr, "png: cannot create the libpng writer");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    throw Error("png: cannot create the libpng info struct");
  }
  const bool ok = write_rows(png, info, &out, pixels.data(), width, height);
  png_destroy_write_struct(&png, &info);
  ROTOR_CHECK(ok, "png: libpng failed to encode a ", width, "x", height, " image");
  return out;
}

void write_png_gray(const std::string& path, const std::vector<uint8_t>& pixels, int64_t width, int64_t height) {
  write_file_atomic(path, encode_png_gray(pixels, width, height));
}

std::vector<uint8_t> image_grid(const Tensor& images, int64_t columns, int64_t border, int64_t& out_width,
                                int64_t& out_height) {
  ROTOR_CHECK(images.dim() == 3 && images.size(0) >= 1, "png: image grid wants [N, H, W] images, got ", images.str());
  ROTOR_CHECK(columns >= 1 && border >= 0, "png: grid needs columns >= 1 and border >= 0");
  const int64_t n = images.size(0), h = images.size(1), w = images.size(2);
  const int64_t cols = std::min(columns, n), rows = (n + cols - 1) / cols;
  out_width = cols * (w + border) + border;
  out_height = rows * (h + border) + border;
  std::vector<uint8_t> grid(static_cast<size_t>(out_width * out_height), 0);
  const std::vector<float> v = images.to_float_vector();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t x0 = border + (i % cols) * (w + border), y0 = border + (i / cols) * (h + border);
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        float p = v[static_cast<size_t>((i * h + y) * w + x)];
        ROTOR_CHECK(!std::isnan(p), "png: image ", i, " has a NaN pixel");
        p = std::clamp(p, 0.0f, 1.0f);
        grid[static_cast<size_t>((y0 + y) * out_width + x0 + x)] = static_cast<uint8_t>(std::lround(p * 255.0f));
      }
  }
  return grid;
}

}  // namespace rotor::io
