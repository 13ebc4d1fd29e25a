#pragma once
// Shared by the sequence-mixer tests: the PyTorch reference files written by
// tests/nn/make_mixer_reference.py and a norm-relative comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "rotor/io/safetensors.h"

namespace rotor::nn::testing {

inline io::TensorMap mixer_file(const std::string& name) {
  return io::load_safetensors(std::string(ROTOR_SOURCE_DIR) + "/tests/nn/data/mixer_" + name + ".safetensors");
}

inline const Tensor& entry(const io::TensorMap& m, const std::string& name) {
  auto it = m.find(name);
  if (it == m.end()) throw Error(cat("mixer reference has no '", name, "'"));
  return it->second;
}

// Every element within rel * max|want| of want (relative to the tensor's scale, so elements near zero do
// not demand more digits than f32 holds).
inline void expect_rel_close(const Tensor& got, const Tensor& want, double rel, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what << " is undefined";
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto g = got.to_double_vector(), w = want.to_double_vector();
  double scale = 0;
  for (double v : w) scale = std::max(scale, std::fabs(v));
  ASSERT_GT(scale, 0) << what << " reference is all zeros";
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_LE(std::fabs(g[i] - w[i]), rel * scale) << what << " element " << i << ": " << g[i] << " vs " << w[i];
}

// max |a - b| over all elements.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto x = a.to_double_vector(), y = b.to_double_vector();
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i) d = std::max(d, std::fabs(x[i] - y[i]));
  return d;
}

}  // namespace rotor::nn::testing
