#pragma once
// Vector quantizer of VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017), with the codebook learnt by
// exponential moving averages (the paper's appendix A.1) instead of a codebook loss, and restart of dead codes.
//
//   VectorQuantizer vq(VectorQuantizerOptions{.codes = 128, .dim = 16}, rng);
//   auto q = vq.quantize(z);                 // z: [M, D] encoder outputs (a Var with a graph)
//   // q.quantized: [M, D], the value of the nearest codes e_k, the gradient passed straight through to z
//   //   (z_q = z + stopgrad(e_k - z)); q.commitment = mean((z - stopgrad(e_k))^2) over M * D; q.codes [M].
//   vq.ema_update(z.value(), q.codes, rng);  // training only: moves the codebook, restarts dead codes
//
// State (not parameters: the optimizer never sees it):
//   codebook e [K, D] (the dtype of the quantizer), cluster_size N [K] and embed_sum m [K, D] (f64).
// ema_update with the batch's counts n_k and sums s_k = sum of the z assigned to k, decay d, epsilon eps:
//   N_k <- d N_k + (1 - d) n_k,   m_k <- d m_k + (1 - d) s_k
//   e_k <- m_k / N~_k,  N~_k = (N_k + eps) / (sum_j N_j + K eps) * sum_j N_j   (Laplace-smoothed counts)
// then every code with N_k < dead_threshold (an EMA count of vectors per batch) is restarted: e_k and m_k
// become a row of the batch's z drawn uniformly from rng (codes in index order), and N_k = 1.
// Initial state: e ~ N(0, 1) entries, m = e and N = 1 (every code counted once at its initial value), the
// same state a restart leaves, so e = m / N holds from the start.
#include <cstdint>
#include <vector>

#include "rotor/autograd/var.h"
#include "rotor/core/rng.h"

namespace rotor::nn {

using autograd::Var;

struct VectorQuantizerOptions {
  int64_t codes = 128;          // K
  int64_t dim = 16;             // D
  double decay = 0.99;          // d in [0, 1)
  double epsilon = 1e-5;        // Laplace smoothing, > 0
  double dead_threshold = 1.0;  // restart codes whose EMA count falls below this (0: never)
};

struct Quantized {
  Var quantized;               // [M, D]
  Var commitment;              // scalar
  std::vector<int64_t> codes;  // [M] index of the nearest code (ties: the lowest index)
};

class VectorQuantizer {
 public:
  VectorQuantizer(const VectorQuantizerOptions& options, Rng& rng, DType dtype = DType::f32);

  // Index of the nearest code (squared Euclidean distance) of every row of z [M, D].
  std::vector<int64_t> nearest(const Tensor& z) const;
  Quantized quantize(const Var& z) const;
  // The EMA step and the restarts above for one batch; returns the number of codes restarted.
  int64_t ema_update(const Tensor& z, const std::vector<int64_t>& codes, Rng& rng);

  const VectorQuantizerOptions& options() const { return options_; }
  // Handles sharing the state's storage (writing into them changes the quantizer).
  const Tensor& codebook() const { return codebook_; }
  const Tensor& cluster_size() const { return cluster_size_; }
  const Tensor& embed_sum() const { return embed_sum_; }
  // Replaces the state (shapes must match; values are converted to the state's dtypes).
  void set_state(const Tensor& codebook, const Tensor& cluster_size, const Tensor& embed_sum);

 private:
  VectorQuantizerOptions options_;
  Tensor codebook_, cluster_size_, embed_sum_;
};

}  // namespace rotor::nn
