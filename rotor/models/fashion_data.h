#pragma once
// Fashion-MNIST as the vision models consume it: images as f32 [N, 1, 28, 28] in [0, 1] (x / 255),
// labels as i64 [N], and the binarized form of the density models (pixel = 1 when x / 255 > 0.5).
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/core/rng.h"
#include "rotor/core/tensor.h"

namespace rotor::models {

struct VisionData {
  Tensor images;  // [N, 1, H, W] f32 in [0, 1]
  Tensor labels;  // [N] i64
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

// Reads the split from `dir` (rotor::io::kFashionMnistDir by default); limit > 0 keeps the first `limit` images.
VisionData load_vision_data(const std::string& dir, bool train, int64_t limit = 0);

// x > 0.5 -> 1, else 0 (same shape, f32).
Tensor binarize(const Tensor& images);
// Images [begin, begin + count) of data (count = 0: from begin to the end), binarized and flattened to
// [count, H * W]; `model` names the caller in the error when the images are not 28x28.
Tensor binarized_rows(const VisionData& data, const std::string& model, int64_t begin = 0, int64_t count = 0);

// The rows `order[begin, begin + count)` of data, copied into a batch.
VisionData gather_batch(const VisionData& data, const std::vector<int64_t>& order, int64_t begin, int64_t count);

// A random permutation of [0, n) from rng (Fisher-Yates).
std::vector<int64_t> shuffled_order(int64_t n, Rng& rng);

}  // namespace rotor::models
