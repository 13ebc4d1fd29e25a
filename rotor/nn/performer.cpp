#include "rotor/nn/performer.h"

#include <cmath>
#include <vector>

#include "rotor/autograd/linalg.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/views.h"

namespace rotor::nn {

namespace ag = rotor::autograd;

Tensor orthogonal_random_features(int64_t features, int64_t dim, Rng& rng, DType dtype) {
  ROTOR_CHECK(features > 0 && dim > 0, "performer: features and dimension must be positive, got ", features,
              " and ", dim);
  std::vector<double> w(static_cast<size_t>(features * dim));
  for (int64_t start = 0; start < features; start += dim) {
    std::vector<double> block(static_cast<size_t>(dim * dim));
    for (auto& x : block) x = rng.normal();
    for (int64_t i = 0; i < dim; ++i) {  // modified Gram-Schmidt on the rows
      double* row = &block[i * dim];
      for (int64_t j = 0; j < i; ++j) {
        const double* prev = &block[j * dim];
        double dot = 0;
        for (int64_t d = 0; d < dim; ++d) dot += row[d] * prev[d];
        for (int64_t d = 0; d < dim; ++d) row[d] -= dot * prev[d];
      }
      double norm = 0;
      for (int64_t d = 0; d < dim; ++d) norm += row[d] * row[d];
      norm = std::sqrt(norm);
      for (int64_t d = 0; d < dim; ++d) row[d] /= norm;
    }
    for (int64_t i = 0; i < dim && start + i < features; ++i) {
      double chi = 0;  // the norm of an independent Gaussian row
      for (int64_t d = 0; d < dim; ++d) {
        const double g = rng.normal();
        chi += g * g;
      }
      chi = std::sqrt(chi);
      for (int64_t d = 0; d < dim; ++d) w[(start + i) * dim + d] = chi * block[i * dim + d];
    }
  }
  return Tensor::from_vector(w, {features, dim}).to(dtype);
}

// x: [B, H, T, D], w: [M, D] -> [B, H, T, M].
Var favor_features(const Var& x, const Var& w) {
  ROTOR_CHECK(x.dim() == 4 && w.dim() == 2 && w.size(1) == x.size(3), "performer: input ", shape_str(x.shape()),
              " and projection ", shape_str(w.shape()), " should be [B, H, T, D] and [M, D]");
  const double D = static_cast<double>(x.size(3)), M = static_cast<double>(w.size(0));
  const Var xs = x * std::pow(D, -0.25);
  const Var half_norm = 0.5 * ag::sum(ag::square(xs), {3}, true);  // [B, H, T, 1]
  return ag::exp(ag::matmul(xs, ag::transpose(w, 0, 1)) - half_norm) * (1.0 / std::sqrt(M));
}

Var performer_attention(const Var& q, const Var& k, const Var& v, const Var& w, int64_t chunk) {
  return causal_feature_attention_chunked(favor_features(q, w), favor_features(k, w), v, chunk);
}

Performer::Performer(int64_t dim, int64_t heads, int64_t features, Rng& rng, int64_t chunk, DType dtype)
    : q_(add_module("q", std::make_shared<Linear>(dim, dim, true, rng, dtype))),
      k_(add_module("k", std::make_shared<Linear>(dim, dim, true, rng, dtype))),
      v_(add_module("v", std::make_shared<Linear>(dim, dim, true, rng, dtype))),
      out_(add_module("out", std::make_shared<Linear>(dim, dim, true, rng, dtype))),
      heads_(heads),
      chunk_(chunk) {
  ROTOR_CHECK(heads > 0 && dim % heads == 0, "Performer: width ", dim, " is not divisible by ", heads, " heads");
  ROTOR_CHECK(features > 0, "Performer: the number of random features must be positive, got ", features);
  ROTOR_CHECK(chunk > 0, "Performer: chunk size must be positive, got ", chunk);
  w_ = orthogonal_random_features(features, dim / heads, rng, dtype);
}

void Performer::redraw(Rng& rng) { w_ = orthogonal_random_features(w_.size(0), w_.size(1), rng, w_.dtype()); }

// x: [B, T, dim] -> [B, T, dim].
Var Performer::forward(const Var& x) const {
  ROTOR_CHECK(x.dim() == 3, "Performer: input must be [B, T, dim], got ", shape_str(x.shape()));
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2), Dh = D / heads_;
  auto split = [&](const Var& y) { return ag::permute(ag::reshape(y, {B, T, heads_, Dh}), {0, 2, 1, 3}); };
  const Var heads = performer_attention(split(q_->forward(x)), split(k_->forward(x)), split(v_->forward(x)), Var(w_),
                                        chunk_);
  return out_->forward(ag::reshape(ag::permute(heads, {0, 2, 1, 3}), {B, T, D}));
}

// x: [B, dim] -> [B, dim].
Var Performer::step(const Var& x, LinearAttentionState& state) const {
  ROTOR_CHECK(x.dim() == 2, "Performer: step input must be [B, dim], got ", shape_str(x.shape()));
  const int64_t B = x.size(0), D = x.size(1), Dh = D / heads_;
  auto features = [&](const Var& y) {  // [B, dim] -> [B, H, M]
    return ag::squeeze(favor_features(ag::reshape(y, {B, heads_, 1, Dh}), Var(w_)), 2);
  };
  const Var y = feature_attention_step(features(q_->forward(x)), features(k_->forward(x)),
                                       ag::reshape(v_->forward(x), {B, heads_, Dh}), state);
  return out_->forward(ag::reshape(y, {B, D}));
}

}  // namespace rotor::nn
