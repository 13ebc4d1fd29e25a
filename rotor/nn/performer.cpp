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
    : HeadProjections(dim, heads, rng, dtype, "Performer"), chunk_(chunk) {
  ROTOR_CHECK(features > 0, "Performer: the number of random features must be positive, got ", features);
  ROTOR_CHECK(chunk > 0, "Performer: chunk size must be positive, got ", chunk);
  w_ = orthogonal_random_features(features, dim / heads, rng, dtype);
}

void Performer::set_projection(const Tensor& w) {
  ROTOR_CHECK(w.shape() == w_.shape(), "Performer: projection has shape ", shape_str(w.shape()), ", expected ",
              shape_str(w_.shape()));
  w_ = w.to(w_.dtype()).contiguous();
}

void Performer::redraw(Rng& rng) { w_ = orthogonal_random_features(w_.size(0), w_.size(1), rng, w_.dtype()); }

// x: [B, T, dim] -> [B, T, dim].
Var Performer::forward(const Var& x) const {
  const Heads h = project(x);  // [B, H, T, Dh]
  return output(performer_attention(h.q, h.k, h.v, Var(w_), chunk_));
}

// x: [B, dim] -> [B, dim].
Var Performer::step(const Var& x, LinearAttentionState& state) const {
  const Heads h = project_step(x);  // [B, H, Dh]
  auto features = [&](const Var& y) { return ag::squeeze(favor_features(ag::unsqueeze(y, 2), Var(w_)), 2); };  // [B, H, M]
  return output_step(feature_attention_step(features(h.q), features(h.k), h.v, state));
}

}  // namespace rotor::nn
