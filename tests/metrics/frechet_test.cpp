// The Frechet distance of rotor/metrics/frechet.h against pytorch-fid's computation in numpy/scipy
// (tests/metrics/make_frechet_reference.py), and against closed forms.
#include "rotor/metrics/frechet.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::metrics {
namespace {

// The same pattern as features() in make_frechet_reference.py, rounded to float like the CNN's features.
std::vector<float> features(int64_t n, int64_t dim, double phase, double spread) {
  std::vector<float> x(static_cast<size_t>(n * dim));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < dim; ++i) {
      const double rd = static_cast<double>(r), id = static_cast<double>(i);
      x[static_cast<size_t>(r * dim + i)] = static_cast<float>(std::sin(0.37 * rd * (id + 1) + 0.11 * id + phase) +
                                                               spread * std::cos(1.3 * rd + 0.7 * id * id) +
                                                               0.25 * std::sin(0.05 * rd * rd + id));
    }
  return x;
}

TEST(Frechet, MatchesScipyReference) {
  const auto ref = nlohmann::json::parse(
      io::read_file(std::string(ROTOR_SOURCE_DIR) + "/tests/metrics/data/frechet_reference.json"));
  ASSERT_EQ(ref["cases"].size(), 4u);
  for (const auto& c : ref["cases"]) {
    const int64_t dim = c["dim"], n_a = c["n_a"], n_b = c["n_b"];
    const auto a = features(n_a, dim, 0.0, 0.5);
    const auto b = features(n_b, dim, c["phase_b"].get<double>(), c["spread_b"].get<double>());
    const double got = frechet_distance(fit_gaussian(a.data(), n_a, dim), fit_gaussian(b.data(), n_b, dim));
    const double want = c["frechet"];
    EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::fabs(want))) << c["name"];
  }
}

TEST(Frechet, DiagonalGaussiansHaveTheClosedForm) {
  // d^2 = sum (m1 - m2)^2 + (sqrt(v1) - sqrt(v2))^2 for diagonal covariances.
  Gaussian a, b;
  a.dim = b.dim = 3;
  a.mean = {0.5, -1, 2};
  b.mean = {0, 1, 2.5};
  a.cov = {4, 0, 0, 0, 1, 0, 0, 0, 0.25};
  b.cov = {1, 0, 0, 0, 9, 0, 0, 0, 0.25};
  const double want = (0.25 + 4 + 0.25) + (1 + 4 + 0);
  EXPECT_NEAR(frechet_distance(a, b), want, 1e-12);
  EXPECT_NEAR(frechet_distance(b, a), want, 1e-12);
}

TEST(Frechet, IsInvariantToARotationOfBoth) {
  // Rotating both feature sets by the same orthogonal matrix keeps the distance; a shift of one moves it
  // by exactly the squared shift.
  std::mt19937_64 gen(7);
  std::normal_distribution<double> normal;
  const int64_t n = 300, dim = 5;
  std::vector<float> x(n * dim), y(n * dim);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < dim; ++i) {
      x[r * dim + i] = static_cast<float>(normal(gen) * (1 + i));
      y[r * dim + i] = static_cast<float>(normal(gen) + 0.3 * x[r * dim + i]);
    }
  const double base = frechet_distance(fit_gaussian(x.data(), n, dim), fit_gaussian(y.data(), n, dim));
  const double c = std::cos(0.7), s = std::sin(0.7);  // rotate features 0 and 1
  auto rotate = [&](std::vector<float> v) {
    for (int64_t r = 0; r < n; ++r) {
      const double p = v[r * dim], q = v[r * dim + 1];
      v[r * dim] = static_cast<float>(c * p - s * q);
      v[r * dim + 1] = static_cast<float>(s * p + c * q);
    }
    return v;
  };
  const auto xr = rotate(x), yr = rotate(y);
  EXPECT_NEAR(frechet_distance(fit_gaussian(xr.data(), n, dim), fit_gaussian(yr.data(), n, dim)), base, 1e-4 * base);
  Gaussian shifted = fit_gaussian(y.data(), n, dim);
  Gaussian plain = fit_gaussian(x.data(), n, dim);
  shifted.mean = plain.mean;
  shifted.mean[2] += 2.0;
  EXPECT_NEAR(frechet_distance(plain, shifted) - frechet_distance(plain, [&] {
                Gaussian g = shifted;
                g.mean[2] -= 2.0;
                return g;
              }()),
              4.0, 1e-9);
  EXPECT_GT(base, 0.1);
}

TEST(Frechet, EigenDecompositionReconstructsTheMatrix) {
  const int64_t n = 6;
  std::vector<double> m(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) m[i * n + j] = m[j * n + i] = std::sin(1.0 + i * 3 + j) + (i == j ? 2 : 0);
  std::vector<double> values, vectors;
  symmetric_eigen(m, n, values, vectors);
  for (int64_t k = 1; k < n; ++k) EXPECT_LE(values[k - 1], values[k]);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double back = 0, dot = 0;
      for (int64_t k = 0; k < n; ++k) {
        back += vectors[i * n + k] * values[k] * vectors[j * n + k];
        dot += vectors[k * n + i] * vectors[k * n + j];
      }
      EXPECT_NEAR(back, m[i * n + j], 1e-12);
      EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-12);
    }
}

TEST(Frechet, BadInputIsAnError) {
  const std::vector<float> one_row = {1, 2, 3};
  EXPECT_THROW(fit_gaussian(one_row.data(), 1, 3), Error);
  const std::vector<float> nan_row = {1, 2, NAN, 4};
  EXPECT_THROW(fit_gaussian(nan_row.data(), 2, 2), Error);
  const std::vector<float> rows = {1, 2, 3, 5, 0, 1};
  EXPECT_THROW(frechet_distance(fit_gaussian(rows.data(), 3, 2), fit_gaussian(rows.data(), 2, 3)), Error);
}

}  // namespace
}  // namespace rotor::metrics
