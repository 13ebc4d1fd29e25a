#include "rotor/kernels/softmax.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernel_test_util.h"

namespace rotor::kernels {
namespace {

using testing_util::for_each_index;
using testing_util::random_tensor;

TEST(Softmax, AnyAxisMatchesReference) {
  for (DType dt : {DType::f32, DType::f64}) {
    const Tensor x = random_tensor({3, 4, 5}, dt, 31, true);
    for (int64_t axis : {0, 1, 2, -1}) {
      const int64_t a = axis < 0 ? axis + 3 : axis;
      const Tensor y = softmax(x, axis), ly = log_softmax(x, axis);
      const Tensor dy = random_tensor({3, 4, 5}, dt, 32);
      const Tensor dx = softmax_backward(y, dy, axis), ldx = log_softmax_backward(ly, dy, axis);
      const double tol = dt == DType::f64 ? 1e-12 : 1e-5;
      for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        double m = -INFINITY, s = 0, dot = 0, gsum = 0;
        std::vector<int64_t> j = i;
        for (int64_t k = 0; k < x.size(a); ++k) j[a] = k, m = std::max(m, x.at(j));
        for (int64_t k = 0; k < x.size(a); ++k) j[a] = k, s += std::exp(x.at(j) - m);
        for (int64_t k = 0; k < x.size(a); ++k) {
          j[a] = k;
          dot += dy.at(j) * std::exp(x.at(j) - m) / s;
          gsum += dy.at(j);
        }
        const double p = std::exp(x.at(i) - m) / s;
        ASSERT_NEAR(y.at(i), p, tol);
        ASSERT_NEAR(ly.at(i), x.at(i) - m - std::log(s), tol);
        ASSERT_NEAR(dx.at(i), p * (dy.at(i) - dot), tol);
        ASSERT_NEAR(ldx.at(i), dy.at(i) - p * gsum, tol);
      });
    }
  }
}

TEST(Softmax, LargeLogitsStayFinite) {
  const Tensor x = Tensor::from_vector(std::vector<float>{1000, 1001, -1000}, {1, 3});
  const Tensor y = softmax(x, 1);
  EXPECT_NEAR(y.at({0, 1}), 1 / (1 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(y.at({0, 2}), 0.0, 1e-30);
  EXPECT_THROW(softmax(x, 2), Error);
}

}  // namespace
}  // namespace rotor::kernels
