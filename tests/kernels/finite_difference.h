#pragma once
// Central finite differences in double precision for the kernel gradient tests.
// A test defines a scalar loss L(inputs) = sum(R * forward(inputs)) for a fixed random R, computes the
// analytic gradients with the backward kernel (dout = R), and compares them to
// (L(x + h e_i) - L(x - h e_i)) / 2h for every element of every input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "rotor/core/rng.h"

namespace rotor::testing {

inline std::vector<double> random_vector(Rng& rng, size_t n, double scale = 1.0) {
  std::vector<double> v(n);
  for (auto& x : v) x = rng.normal() * scale;
  return v;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

struct GradInput {
  std::string name;
  std::vector<double>* value;
  const std::vector<double>* analytic;
};

// Perturbs every element of every input and checks |analytic - numeric| <= tol * (1 + |numeric|).
inline void expect_gradients_match(const std::vector<GradInput>& inputs, const std::function<double()>& loss,
                                   double tol = 1e-6, double h = 1e-5) {
  for (const GradInput& in : inputs) {
    ASSERT_EQ(in.value->size(), in.analytic->size()) << in.name;
    double worst = 0;
    size_t worst_i = 0;
    for (size_t i = 0; i < in.value->size(); ++i) {
      const double saved = (*in.value)[i];
      (*in.value)[i] = saved + h;
      const double up = loss();
      (*in.value)[i] = saved - h;
      const double down = loss();
      (*in.value)[i] = saved;
      const double numeric = (up - down) / (2 * h);
      const double err = std::abs((*in.analytic)[i] - numeric) / (1 + std::abs(numeric));
      if (err > worst) worst = err, worst_i = i;
    }
    EXPECT_LE(worst, tol) << "gradient of " << in.name << " differs at element " << worst_i << ": analytic "
                          << (*in.analytic)[worst_i];
  }
}

}  // namespace rotor::testing
