#include "rotor/models/fashion_data.h"

#include <cstring>
#include <utility>

#include "rotor/core/error.h"
#include "rotor/io/idx.h"

namespace rotor::models {

VisionData load_vision_data(const std::string& dir, bool train, int64_t limit) {
  const io::ImageSet set = io::load_fashion_mnist(dir, train);
  const int64_t total = set.images.size(0), h = set.images.size(1), w = set.images.size(2);
  const int64_t n = limit > 0 && limit < total ? limit : total;
  VisionData out;
  out.images = Tensor::empty({n, 1, h, w});
  out.labels = Tensor::empty({n}, DType::i64);
  const uint8_t* src = set.images.contiguous().data<uint8_t>();
  float* dst = out.images.data<float>();
  for (int64_t i = 0; i < n * h * w; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
  const Tensor labels = set.labels.contiguous();
  const int32_t* lab = labels.data<int32_t>();
  int64_t* out_lab = out.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) out_lab[i] = lab[i];
  return out;
}

Tensor binarize(const Tensor& images) {
  const Tensor x = images.contiguous();
  Tensor out = Tensor::empty(x.shape());
  const float* s = x.data<float>();
  float* d = out.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) d[i] = s[i] > 0.5f ? 1.0f : 0.0f;
  return out;
}

Tensor binarized_rows(const VisionData& data, const std::string& model, int64_t begin, int64_t count) {
  const int64_t n = count > 0 ? count : data.size() - begin;
  ROTOR_CHECK(data.images.dim() == 4 && data.images.size(2) == 28 && data.images.size(3) == 28 &&
                  data.images.size(1) == 1,
              model, ": wants [N, 1, 28, 28] images, got ", data.images.str());
  ROTOR_CHECK(begin >= 0 && n >= 1 && begin + n <= data.size(), model, ": rows [", begin, ", ", begin + n,
              ") outside ", data.size(), " images");
  return binarize(data.images.narrow(0, begin, n).contiguous()).reshape({n, 28 * 28});
}

VisionData gather_batch(const VisionData& data, const std::vector<int64_t>& order, int64_t begin, int64_t count) {
  ROTOR_CHECK(begin >= 0 && count >= 1 && begin + count <= static_cast<int64_t>(order.size()),
              "vision: batch [", begin, ", ", begin + count, ") outside ", order.size(), " images");
  Shape shape = data.images.shape();
  const int64_t per = data.images.numel() / shape[0];
  shape[0] = count;
  VisionData out;
  out.images = Tensor::empty(shape);
  out.labels = Tensor::empty({count}, DType::i64);
  const float* src = data.images.data<float>();
  const int64_t* lab = data.labels.data<int64_t>();
  float* dst = out.images.data<float>();
  int64_t* out_lab = out.labels.data<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t r = order[static_cast<size_t>(begin + i)];
    std::memcpy(dst + i * per, src + r * per, static_cast<size_t>(per) * sizeof(float));
    out_lab[i] = lab[r];
  }
  return out;
}

std::vector<int64_t> shuffled_order(int64_t n, Rng& rng) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[rng.uniform_int(i + 1)]);
  return order;
}

}  // namespace rotor::models
