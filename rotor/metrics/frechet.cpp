#include "rotor/metrics/frechet.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rotor/core/error.h"

namespace rotor::metrics {

Gaussian fit_gaussian(const float* rows, int64_t n, int64_t dim) {
  ROTOR_CHECK(n >= 2 && dim >= 1, "frechet: need at least 2 feature rows of dimension >= 1, got ", n, " x ", dim);
  Gaussian g;
  g.dim = dim;
  g.mean.assign(static_cast<size_t>(dim), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < dim; ++i) {
      const double x = rows[r * dim + i];
      ROTOR_CHECK(std::isfinite(x), "frechet: feature ", i, " of row ", r, " is ", x);
      g.mean[static_cast<size_t>(i)] += x;
    }
  for (double& m : g.mean) m /= static_cast<double>(n);
  g.cov.assign(static_cast<size_t>(dim * dim), 0.0);
  std::vector<double> centred(static_cast<size_t>(dim));
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < dim; ++i) centred[static_cast<size_t>(i)] = rows[r * dim + i] - g.mean[static_cast<size_t>(i)];
    for (int64_t i = 0; i < dim; ++i) {
      const double ci = centred[static_cast<size_t>(i)];
      double* row = g.cov.data() + i * dim;
      for (int64_t j = i; j < dim; ++j) row[j] += ci * centred[static_cast<size_t>(j)];
    }
  }
  for (int64_t i = 0; i < dim; ++i)
    for (int64_t j = i; j < dim; ++j) {
      const double c = g.cov[static_cast<size_t>(i * dim + j)] / static_cast<double>(n - 1);
      g.cov[static_cast<size_t>(i * dim + j)] = c;
      g.cov[static_cast<size_t>(j * dim + i)] = c;
    }
  return g;
}

void symmetric_eigen(std::vector<double> a, int64_t n, std::vector<double>& values, std::vector<double>& vectors) {
  ROTOR_CHECK(n >= 1 && static_cast<int64_t>(a.size()) == n * n, "symmetric_eigen: want an n x n matrix");
  auto at = [&](std::vector<double>& m, int64_t i, int64_t j) -> double& { return m[static_cast<size_t>(i * n + j)]; };
  vectors.assign(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) at(vectors, i, i) = 1.0;
  double scale = 0;
  for (double x : a) scale += x * x;
  // Converged when the off-diagonal part is below 1e-13 of the matrix's Frobenius norm.
  const double tolerance = 1e-26 * std::max(scale, 1e-300);
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) off += at(a, i, j) * at(a, i, j);
    if (off <= tolerance) break;
    ROTOR_CHECK(sweep < 99, "symmetric_eigen: Jacobi rotations did not converge");
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        const double apq = at(a, p, q);
        if (apq == 0) continue;
        // The rotation that zeroes a[p][q] (Golub & Van Loan, symmetric Schur decomposition).
        const double theta = (at(a, q, q) - at(a, p, p)) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // columns p, q
          const double akp = at(a, k, p), akq = at(a, k, q);
          at(a, k, p) = c * akp - s * akq;
          at(a, k, q) = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {  // rows p, q
          const double apk = at(a, p, k), aqk = at(a, q, k);
          at(a, p, k) = c * apk - s * aqk;
          at(a, q, k) = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {
          const double vkp = at(vectors, k, p), vkq = at(vectors, k, q);
          at(vectors, k, p) = c * vkp - s * vkq;
          at(vectors, k, q) = s * vkp + c * vkq;
        }
        at(a, p, q) = at(a, q, p) = 0;  // zero by construction, up to round-off
      }
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return at(a, x, x) < at(a, y, y); });
  values.resize(static_cast<size_t>(n));
  std::vector<double> sorted(static_cast<size_t>(n * n));
  for (int64_t k = 0; k < n; ++k) {
    values[static_cast<size_t>(k)] = at(a, order[static_cast<size_t>(k)], order[static_cast<size_t>(k)]);
    for (int64_t i = 0; i < n; ++i) sorted[static_cast<size_t>(i * n + k)] = at(vectors, i, order[static_cast<size_t>(k)]);
  }
  vectors = std::move(sorted);
}

namespace {

// V diag(f(l)) V^T of a symmetric matrix's eigen decomposition.
std::vector<double> compose(const std::vector<double>& values, const std::vector<double>& vectors, int64_t n,
                            double (*f)(double)) {
  std::vector<double> out(static_cast<size_t>(n * n), 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const double w = f(values[static_cast<size_t>(k)]);
    for (int64_t i = 0; i < n; ++i) {
      const double vik = w * vectors[static_cast<size_t>(i * n + k)];
      for (int64_t j = 0; j < n; ++j) out[static_cast<size_t>(i * n + j)] += vik * vectors[static_cast<size_t>(j * n + k)];
    }
  }
  return out;
}

std::vector<double> multiply(const std::vector<double>& x, const std::vector<double>& y, int64_t n) {
  std::vector<double> out(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < n; ++k) {
      const double xik = x[static_cast<size_t>(i * n + k)];
      for (int64_t j = 0; j < n; ++j) out[static_cast<size_t>(i * n + j)] += xik * y[static_cast<size_t>(k * n + j)];
    }
  return out;
}

double clipped_sqrt(double x) { return std::sqrt(std::max(x, 0.0)); }

}  // namespace

double frechet_distance(const Gaussian& a, const Gaussian& b) {
  ROTOR_CHECK(a.dim == b.dim && a.dim >= 1, "frechet: feature dimensions differ (", a.dim, " vs ", b.dim, ")");
  const int64_t n = a.dim;
  double d = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double diff = a.mean[static_cast<size_t>(i)] - b.mean[static_cast<size_t>(i)];
    d += diff * diff + a.cov[static_cast<size_t>(i * n + i)] + b.cov[static_cast<size_t>(i * n + i)];
  }
  std::vector<double> values, vectors;
  symmetric_eigen(a.cov, n, values, vectors);
  const std::vector<double> root = compose(values, vectors, n, clipped_sqrt);
  std::vector<double> inner = multiply(multiply(root, b.cov, n), root, n);
  for (int64_t i = 0; i < n; ++i)  // symmetrize the round-off
    for (int64_t j = i + 1; j < n; ++j) {
      const double m = 0.5 * (inner[static_cast<size_t>(i * n + j)] + inner[static_cast<size_t>(j * n + i)]);
      inner[static_cast<size_t>(i * n + j)] = inner[static_cast<size_t>(j * n + i)] = m;
    }
  symmetric_eigen(std::move(inner), n, values, vectors);
  double trace_root = 0;
  for (double l : values) trace_root += clipped_sqrt(l);
  return d - 2 * trace_root;
}

}  // namespace rotor::metrics
