#include "rotor/nn/contrastive.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/checkpoint.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/losses.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/views.h"
#include "rotor/core/error.h"
#include "rotor/nn/margin.h"

namespace rotor::nn {

using autograd::Var;

namespace {

void check_pairs(const Var& image, const Var& text, const Var& log_scale, const char* what) {
  ROTOR_CHECK(image.dim() == 2 && text.dim() == 2 && image.size(0) == text.size(0) && image.size(1) == text.size(1) &&
                  image.size(0) > 0,
              what, ": image and text embeddings must both be [B, D], got ", image.value().str(), " and ",
              text.value().str());
  ROTOR_CHECK(log_scale.numel() == 1, what, ": the log scale must have one element, got ", log_scale.value().str());
}

// sum_ij softplus(-z_ij (exp(t) u_i . v_j + b)) over the text columns [col0, col0 + k): z_ij = 1 when
// i == col0 + j. u, v normalised.
Var siglip_block(const Var& u, const Var& v_block, const Var& log_scale, const Var& bias, int64_t col0) {
  const int64_t b = u.size(0), k = v_block.size(0);
  std::vector<double> z(static_cast<size_t>(b * k), -1.0);
  for (int64_t j = 0; j < k; ++j)
    if (col0 + j < b) z[static_cast<size_t>((col0 + j) * k + j)] = 1.0;
  const Var logits = autograd::add(
      autograd::mul(autograd::matmul(u, autograd::transpose(v_block, 0, 1)), autograd::exp(log_scale)), bias);
  const Var signs(Tensor::from_vector(z, {b, k}).to(u.dtype()));
  return autograd::sum(autograd::softplus(autograd::neg(autograd::mul(logits, signs))));
}

}  // namespace

Var clip_loss(const Var& image, const Var& text, const Var& log_scale) {
  check_pairs(image, text, log_scale, "clip_loss");
  const int64_t b = image.size(0);
  const Var scale = autograd::exp(autograd::clamp(log_scale, -std::numeric_limits<double>::infinity(), kClipMaxLogScale));
  const Var logits = autograd::mul(
      autograd::matmul(l2_normalize(image), autograd::transpose(l2_normalize(text), 0, 1)), scale);
  std::vector<int64_t> ids(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) ids[static_cast<size_t>(i)] = i;
  const Tensor labels = Tensor::from_vector(ids, {b});
  return autograd::mul(autograd::add(autograd::cross_entropy(logits, labels),
                                     autograd::cross_entropy(autograd::transpose(logits, 0, 1), labels)),
                       0.5);
}

Var siglip_loss(const Var& image, const Var& text, const Var& log_scale, const Var& bias) {
  check_pairs(image, text, log_scale, "siglip_loss");
  ROTOR_CHECK(bias.numel() == 1, "siglip_loss: the bias must have one element, got ", bias.value().str());
  return autograd::mul(siglip_block(l2_normalize(image), l2_normalize(text), log_scale, bias, 0),
                       1.0 / static_cast<double>(image.size(0)));
}

Var siglip_loss_chunked(const Var& image, const Var& text, const Var& log_scale, const Var& bias, int64_t chunk) {
  check_pairs(image, text, log_scale, "siglip_loss_chunked");
  ROTOR_CHECK(bias.numel() == 1, "siglip_loss_chunked: the bias must have one element, got ", bias.value().str());
  ROTOR_CHECK(chunk > 0, "siglip_loss_chunked: chunk must be positive, got ", chunk);
  const int64_t b = image.size(0);
  const Var u = l2_normalize(image), v = l2_normalize(text);
  Var total;
  for (int64_t col0 = 0; col0 < b; col0 += chunk) {
    const int64_t k = std::min(chunk, b - col0);
    const Var part = autograd::checkpoint(
        [col0](const std::vector<Var>& in) { return siglip_block(in[0], in[1], in[2], in[3], col0); },
        {u, autograd::narrow(v, 0, col0, k), log_scale, bias});
    total = total.defined() ? autograd::add(total, part) : part;
  }
  return autograd::mul(total, 1.0 / static_cast<double>(b));
}

}  // namespace rotor::nn
