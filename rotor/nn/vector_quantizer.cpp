#include "rotor/nn/vector_quantizer.h"

#include <cmath>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/discrete.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/reduction.h"
#include "rotor/core/error.h"
#include "rotor/nn/init.h"

namespace rotor::nn {

using namespace rotor::autograd;

namespace {

// argmin_k ||z_m - e_k||^2 = argmin_k (||e_k||^2 - 2 z_m . e_k); scores = z e^T [M, K].
template <class T>
std::vector<int64_t> argmin_distance(const Tensor& scores, const Tensor& codebook) {
  const int64_t m = scores.size(0), k = scores.size(1), d = codebook.size(1);
  const T* s = scores.data<T>();
  const T* e = codebook.data<T>();
  std::vector<double> norm(static_cast<size_t>(k), 0.0);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < d; ++i) norm[static_cast<size_t>(j)] += static_cast<double>(e[j * d + i]) * e[j * d + i];
  std::vector<int64_t> codes(static_cast<size_t>(m));
#pragma omp parallel for if (m * k > 65536)
  for (int64_t r = 0; r < m; ++r) {
    int64_t best = 0;
    double best_distance = INFINITY;
    for (int64_t j = 0; j < k; ++j) {
      const double distance = norm[static_cast<size_t>(j)] - 2.0 * static_cast<double>(s[r * k + j]);
      if (distance < best_distance) {
        best_distance = distance;
        best = j;
      }
    }
    codes[static_cast<size_t>(r)] = best;
  }
  return codes;
}

// rows[i] = table[index[i]]: table [K, D] contiguous -> [M, D] in table's dtype.
template <class T>
Tensor gather_rows(const Tensor& table, const std::vector<int64_t>& index) {
  const int64_t d = table.size(1), m = static_cast<int64_t>(index.size());
  Tensor out = Tensor::empty({m, d}, table.dtype());
  const T* src = table.data<T>();
  T* dst = out.data<T>();
  for (int64_t r = 0; r < m; ++r)
    for (int64_t i = 0; i < d; ++i) dst[r * d + i] = src[index[static_cast<size_t>(r)] * d + i];
  return out;
}

}  // namespace

VectorQuantizer::VectorQuantizer(const VectorQuantizerOptions& o, Rng& rng, DType dtype) : options_(o) {
  ROTOR_CHECK(o.codes >= 1 && o.dim >= 1, "vector_quantizer: wants codes >= 1 and dim >= 1, got ", o.codes, " and ",
              o.dim);
  ROTOR_CHECK(o.decay >= 0 && o.decay < 1, "vector_quantizer: decay ", o.decay, " is outside [0, 1)");
  ROTOR_CHECK(o.epsilon > 0 && std::isfinite(o.epsilon), "vector_quantizer: epsilon ", o.epsilon, " is not positive");
  ROTOR_CHECK(o.dead_threshold >= 0 && std::isfinite(o.dead_threshold), "vector_quantizer: dead_threshold ",
              o.dead_threshold, " is negative");
  ROTOR_CHECK(dtype == DType::f32 || dtype == DType::f64, "vector_quantizer: wants f32 or f64");
  codebook_ = normal_tensor({o.codes, o.dim}, 0.0, 1.0, rng, dtype);
  cluster_size_ = Tensor::ones({o.codes}, DType::f64);
  embed_sum_ = codebook_.to(DType::f64).clone();
}

std::vector<int64_t> VectorQuantizer::nearest(const Tensor& z) const {
  ROTOR_CHECK(z.dim() == 2 && z.size(1) == options_.dim, "vector_quantizer: wants [M, ", options_.dim, "] inputs, got ",
              z.str());
  ROTOR_CHECK(z.dtype() == codebook_.dtype(), "vector_quantizer: input ", z.str(), " differs in dtype from the codebook ",
              codebook_.str());
  NoGradGuard no_grad;
  const Tensor scores = matmul(Var(z.contiguous()), Var(codebook_.transpose(0, 1).contiguous())).value().contiguous();
  return z.dtype() == DType::f64 ? argmin_distance<double>(scores, codebook_)
                                 : argmin_distance<float>(scores, codebook_);
}

Quantized VectorQuantizer::quantize(const Var& z) const {
  Quantized q;
  q.codes = nearest(z.value());
  // A copy of the chosen rows: ema_update may rewrite the codebook while this graph is alive.
  const Var chosen(codebook_.dtype() == DType::f64 ? gather_rows<double>(codebook_, q.codes)
                                                     : gather_rows<float>(codebook_, q.codes));
  q.quantized = straight_through(chosen, z);
  q.commitment = mean(square(sub(z, chosen)));
  return q;
}

int64_t VectorQuantizer::ema_update(const Tensor& z_in, const std::vector<int64_t>& codes, Rng& rng) {
  const int64_t k = options_.codes, d = options_.dim;
  ROTOR_CHECK(z_in.dim() == 2 && z_in.size(1) == d && z_in.size(0) == static_cast<int64_t>(codes.size()) &&
                  !codes.empty(),
              "vector_quantizer: ema_update wants [M, ", d, "] inputs and M codes, got ", z_in.str(), " and ",
              codes.size(), " codes");
  const Tensor z = z_in.to(DType::f64);
  const double* pz = z.data<double>();
  const int64_t m = z.size(0);
  std::vector<double> count(static_cast<size_t>(k), 0.0), sums(static_cast<size_t>(k * d), 0.0);
  for (int64_t r = 0; r < m; ++r) {
    const int64_t c = codes[static_cast<size_t>(r)];
    ROTOR_CHECK(c >= 0 && c < k, "vector_quantizer: code ", c, " is outside [0, ", k, ")");
    count[static_cast<size_t>(c)] += 1;
    for (int64_t i = 0; i < d; ++i) sums[static_cast<size_t>(c * d + i)] += pz[r * d + i];
  }
  double* n = cluster_size_.data<double>();
  double* s = embed_sum_.data<double>();
  const double decay = options_.decay, eps = options_.epsilon;
  double total = 0;
  for (int64_t j = 0; j < k; ++j) {
    n[j] = decay * n[j] + (1 - decay) * count[static_cast<size_t>(j)];
    for (int64_t i = 0; i < d; ++i) s[j * d + i] = decay * s[j * d + i] + (1 - decay) * sums[static_cast<size_t>(j * d + i)];
    total += n[j];
  }
  Tensor codebook = Tensor::empty({k, d}, DType::f64);
  double* e = codebook.data<double>();
  for (int64_t j = 0; j < k; ++j) {
    const double smoothed = (n[j] + eps) / (total + static_cast<double>(k) * eps) * total;
    for (int64_t i = 0; i < d; ++i) e[j * d + i] = s[j * d + i] / smoothed;
  }
  int64_t restarted = 0;
  for (int64_t j = 0; j < k; ++j) {
    if (!(n[j] < options_.dead_threshold)) continue;
    const int64_t r = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(m)));
    for (int64_t i = 0; i < d; ++i) e[j * d + i] = s[j * d + i] = pz[r * d + i];
    n[j] = 1.0;
    ++restarted;
  }
  codebook_.copy_(codebook);
  return restarted;
}

void VectorQuantizer::set_state(const Tensor& codebook, const Tensor& cluster_size, const Tensor& embed_sum) {
  ROTOR_CHECK(codebook.shape() == codebook_.shape() && cluster_size.shape() == cluster_size_.shape() &&
                  embed_sum.shape() == embed_sum_.shape(),
              "vector_quantizer: state ", codebook.str(), ", ", cluster_size.str(), ", ", embed_sum.str(),
              " does not match codebook ", codebook_.str());
  codebook_.copy_(codebook);
  cluster_size_.copy_(cluster_size);
  embed_sum_.copy_(embed_sum);
}

}  // namespace rotor::nn
