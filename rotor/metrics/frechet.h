#pragma once
// The Frechet distance between two Gaussians fitted to feature vectors (the quantity of the FID,
// Heusel et al. 2017):
//   d^2 = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2))
// with Tr((S1 S2)^(1/2)) = sum_i sqrt(l_i), l_i the eigenvalues of S1^(1/2) S2 S1^(1/2) (symmetric,
// positive semi-definite; round-off below zero is clipped). Everything is in double.
//
//   Gaussian real = fit_gaussian(real_features, n_real, dim);   // row-major [n, dim]
//   double fid = frechet_distance(real, fit_gaussian(fake_features, n_fake, dim));
#include <cstdint>
#include <vector>

namespace rotor::metrics {

struct Gaussian {
  int64_t dim = 0;
  std::vector<double> mean;  // [dim]
  std::vector<double> cov;   // [dim, dim] row-major, unbiased (divides by n - 1, as numpy.cov)
};

// Mean and covariance of n >= 2 rows of `dim` features; non-finite features are errors.
Gaussian fit_gaussian(const float* rows, int64_t n, int64_t dim);
double frechet_distance(const Gaussian& a, const Gaussian& b);

// Eigenvalues (ascending) and eigenvectors of a symmetric [n, n] matrix by cyclic Jacobi rotations;
// vectors[i * n + k] is component i of eigenvector k.
void symmetric_eigen(std::vector<double> matrix, int64_t n, std::vector<double>& values, std::vector<double>& vectors);

}  // namespace rotor::metrics
