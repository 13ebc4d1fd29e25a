#pragma once
// PNG output through Debian's libpng: 8-bit grayscale images and grids of small images (sample sheets).
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/core/tensor.h"

namespace rotor::io {

// pixels: height * width bytes, row-major. Returns the PNG file image.
std::string encode_png_gray(const std::vector<uint8_t>& pixels, int64_t width, int64_t height);
// Writes atomically (temporary file + rename): nothing is left behind when an error is thrown.
void write_png_gray(const std::string& path, const std::vector<uint8_t>& pixels, int64_t width, int64_t height);

// images: [N, H, W] (any float dtype, values in [0, 1], clamped) -> a grid of `columns` columns with
// `border` black pixels between and around the tiles; out_width / out_height receive the grid's size.
std::vector<uint8_t> image_grid(const Tensor& images, int64_t columns, int64_t border, int64_t& out_width,
                                int64_t& out_height);

}  // namespace rotor::io
