#pragma once
// Reading the PyTorch reference files of tests/nn (JSON written by the make_*reference*.py scripts):
// tensors as {"shape": [...], "data": [...]}.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rotor/core/error.h"
#include "rotor/core/tensor.h"

namespace rotor::testing_json {

using json = nlohmann::json;

// The parsed file at `relative` (from the source root).
inline json read_reference(const std::string& relative) {
  std::ifstream in(std::string(ROTOR_SOURCE_DIR) + "/" + relative);
  if (!in) throw Error("cannot open " + relative);
  return json::parse(in);
}

inline Tensor tensor_of(const json& t) {
  return Tensor::from_vector(t["data"].get<std::vector<double>>(), t["shape"].get<Shape>());
}
inline Tensor ids_of(const json& t) {
  return Tensor::from_vector(t["data"].get<std::vector<int64_t>>(), t["shape"].get<Shape>());
}

// Element by element within tol * max(1, |want|).
inline void expect_close(const Tensor& got, const json& want, const std::string& what, double tol) {
  const Tensor w = tensor_of(want);
  ASSERT_TRUE(got.defined()) << what << " is undefined";
  ASSERT_EQ(got.shape(), w.shape()) << what;
  const auto g = got.to_double_vector(), e = w.to_double_vector();
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], e[i], tol * std::max(1.0, std::fabs(e[i]))) << what << " element " << i;
}

}  // namespace rotor::testing_json
