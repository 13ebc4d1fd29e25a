#pragma once
// Shared by the vision model tests: tests/models/data/vision_reference.json (written by
// tests/models/make_vision_reference.py), tensors from its JSON form, closeness checks, small data sets.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "rotor/core/error.h"
#include "rotor/io/idx.h"
#include "rotor/models/fashion_data.h"
#include "rotor/nn/module.h"

namespace rotor::models::vision_testing {

inline const nlohmann::json& reference() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(ROTOR_SOURCE_DIR) + "/tests/models/data/vision_reference.json");
    if (!in) throw Error("cannot open tests/models/data/vision_reference.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

// {"shape": [...], "data": [...]} -> f32 (or f64) tensor.
inline Tensor tensor_of(const nlohmann::json& t, DType dtype = DType::f32) {
  Shape shape = t["shape"].get<Shape>();
  if (dtype == DType::f64) return Tensor::from_vector(t["data"].get<std::vector<double>>(), shape);
  return Tensor::from_vector(t["data"].get<std::vector<float>>(), shape);
}

// |got - want| <= tol * (1 + max |want|) elementwise.
inline void expect_close(const Tensor& got, const nlohmann::json& want, double tol, const std::string& what) {
  const Tensor w = tensor_of(want, DType::f64);
  ASSERT_EQ(got.shape(), w.shape()) << what;
  const auto g = got.to_double_vector(), e = w.to_double_vector();
  double scale = 0;
  for (double v : e) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], e[i], tol * (1 + scale)) << what << " [" << i << "]";
}

inline nn::StateDict params_of(const nlohmann::json& case_) {
  nn::StateDict s;
  for (auto& [name, t] : case_["params"].items()) s[name] = tensor_of(t);
  return s;
}

inline VisionData small_set(bool train, int64_t n) { return load_vision_data(io::kFashionMnistDir, train, n); }

}  // namespace rotor::models::vision_testing
