#include "rotor/kernels/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/core/threads.h"
#include "kernel_test_util.h"

namespace rotor::kernels {
namespace {

using testing_util::broadcast_index;
using testing_util::for_each_index;
using testing_util::random_tensor;

double reference_unary(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return std::exp(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::rsqrt: return 1 / std::sqrt(x);
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::sigmoid: return 1 / (1 + std::exp(-x));
    case UnaryOp::relu: return x > 0 ? x : 0;
    case UnaryOp::gelu_erf: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case UnaryOp::gelu_tanh:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case UnaryOp::silu: return x / (1 + std::exp(-x));
    case UnaryOp::abs: return std::fabs(x);
    case UnaryOp::square: return x * x;
    case UnaryOp::reciprocal: return 1 / x;
    case UnaryOp::sin: return std::sin(x);
    case UnaryOp::cos: return std::cos(x);
    case UnaryOp::sign: return (x > 0) - (x < 0);
  }
  return 0;
}

const UnaryOp kAllUnary[] = {UnaryOp::neg,  UnaryOp::exp,      UnaryOp::log,       UnaryOp::sqrt,   UnaryOp::rsqrt,
                             UnaryOp::tanh, UnaryOp::sigmoid,  UnaryOp::relu,      UnaryOp::gelu_erf,
                             UnaryOp::gelu_tanh, UnaryOp::silu, UnaryOp::abs,      UnaryOp::square,
                             UnaryOp::reciprocal, UnaryOp::sin, UnaryOp::cos,      UnaryOp::sign};

bool positive_domain(UnaryOp op) {
  return op == UnaryOp::log || op == UnaryOp::sqrt || op == UnaryOp::rsqrt || op == UnaryOp::reciprocal;
}

TEST(Elementwise, UnaryMatchesReferenceOnStridedViews) {
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    for (UnaryOp op : kAllUnary) {
      const bool pos = positive_domain(op);
      const Tensor x = random_tensor({3, 5, 7}, dt, 11, /*transposed=*/true, pos ? 0.2 : -3, pos ? 3 : 3);
      const Tensor y = unary(op, x);
      EXPECT_EQ(y.dtype(), dt == DType::f64 ? DType::f64 : DType::f32);
      // the result takes the layout of its (densely transposed) input; a converted bf16 input is a new
      // contiguous tensor, and so is the result
      if (dt == DType::bf16) EXPECT_TRUE(y.is_contiguous());
      else EXPECT_EQ(y.strides(), x.strides());
      const double tol = dt == DType::f64 ? 1e-12 : 2e-6;
      for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        const double ref = reference_unary(op, x.at(i));
        ASSERT_NEAR(y.at(i), ref, tol * std::max(1.0, std::fabs(ref))) << unary_op_name(op) << " " << dtype_name(dt);
      });
    }
  }
}

// Inputs sharing one dense permuted layout give a result in that layout (computed in memory order);
// mixed layouts or a broadcast give a contiguous result. Values are the same either way.
TEST(Elementwise, ResultLayoutFollowsDensePermutedInputs) {
  const Tensor a = random_tensor({6, 40, 33}, DType::f32, 3).permute({2, 0, 1});  // [33, 6, 40], dense
  const Tensor b = random_tensor({6, 40, 33}, DType::f32, 4).permute({2, 0, 1});
  const Tensor c = random_tensor({33, 6, 40}, DType::f32, 5);                      // contiguous
  const Tensor same = binary(BinaryOp::mul, a, b), mixed = binary(BinaryOp::mul, a, c);
  EXPECT_EQ(same.strides(), a.strides());
  EXPECT_TRUE(mixed.is_contiguous());
  EXPECT_TRUE(binary(BinaryOp::add, a, Tensor::ones({40})).is_contiguous());  // a broadcast operand
  EXPECT_EQ(compare(CompareOp::gt, a, b).strides(), a.strides());
  for_each_index(a.shape(), [&](const std::vector<int64_t>& i) {
    ASSERT_EQ(same.at(i), static_cast<float>(a.at(i)) * static_cast<float>(b.at(i)));
    ASSERT_EQ(mixed.at(i), static_cast<float>(a.at(i)) * static_cast<float>(c.at(i)));
  });
  // a sliced (not dense) view keeps the contiguous result
  const Tensor sliced = a.slice(0, 0, 32, 2);
  EXPECT_TRUE(unary(UnaryOp::exp, sliced).is_contiguous());
  // consumers that need row-major data get it from contiguous()
  const Tensor rows = same.contiguous();
  EXPECT_TRUE(rows.is_contiguous());
  EXPECT_EQ(rows.at({5, 4, 3}), same.at({5, 4, 3}));
}

TEST(Elementwise, BinaryBroadcastsLikeNumpy) {
  struct Case {
    Shape a, b;
  };
  for (const Case& c : {Case{{4, 1, 6}, {5, 1}}, Case{{2, 3}, {}}, Case{{3, 4}, {3, 4}}, Case{{1}, {2, 1, 3}}}) {
    for (DType dt : {DType::f32, DType::f64}) {
      const Tensor a = random_tensor(c.a, dt, 1, true), b = random_tensor(c.b, dt, 2, true, 0.5, 2);
      const Shape out_shape = broadcast_shapes(c.a, c.b);
      for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div, BinaryOp::maximum,
                          BinaryOp::minimum}) {
        const Tensor y = binary(op, a, b);
        ASSERT_EQ(y.shape(), out_shape);
        for_each_index(out_shape, [&](const std::vector<int64_t>& i) {
          const double x1 = a.at(broadcast_index(i, c.a)), x2 = b.at(broadcast_index(i, c.b));
          const double ref = op == BinaryOp::add   ? x1 + x2
                             : op == BinaryOp::sub ? x1 - x2
                             : op == BinaryOp::mul ? x1 * x2
                             : op == BinaryOp::div ? x1 / x2
                             : op == BinaryOp::maximum ? std::max(x1, x2)
                                                       : std::min(x1, x2);
          ASSERT_NEAR(y.at(i), ref, (dt == DType::f64 ? 1e-14 : 1e-6) * std::max(1.0, std::fabs(ref)));
        });
      }
    }
  }
  EXPECT_THROW(add(Tensor::zeros({3}), Tensor::zeros({4})), Error);
}

TEST(Elementwise, MixedTypesPromote) {
  const Tensor a = random_tensor({4}, DType::bf16, 3), b = random_tensor({4}, DType::f64, 4);
  const Tensor y = mul(a, b);
  EXPECT_EQ(y.dtype(), DType::f64);
  for (int64_t i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(y.at({i}), a.at({i}) * b.at({i}));
  const Tensor c = add(Tensor::arange(3, DType::i64), Tensor::ones({3}, DType::bf16));
  EXPECT_EQ(c.dtype(), DType::f32);
  EXPECT_EQ(c.at({2}), 3.0);
}

TEST(Elementwise, ScalarFormsClampPow) {
  const Tensor x = random_tensor({5, 3}, DType::f64, 5, true, 0.1, 2);
  const Tensor c = clamp(x, 0.5, 1.5), p = pow_scalar(x, 2.5), f = affine(x, -2, 1);
  const Tensor dc = clamp_backward(x, 0.5, 1.5, Tensor::ones({5, 3}, DType::f64));
  for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
    const double v = x.at(i);
    EXPECT_EQ(c.at(i), std::min(1.5, std::max(0.5, v)));
    EXPECT_NEAR(p.at(i), std::pow(v, 2.5), 1e-14);
    EXPECT_NEAR(f.at(i), -2 * v + 1, 1e-14);
    EXPECT_EQ(dc.at(i), (v >= 0.5 && v <= 1.5) ? 1.0 : 0.0);
  });
  EXPECT_THROW(clamp(x, 2, 1), Error);
}

TEST(Elementwise, UnaryBackwardMatchesFiniteDifferences) {
  for (UnaryOp op : kAllUnary) {
    if (op == UnaryOp::sign) continue;
    const bool pos = positive_domain(op);
    const Tensor x = random_tensor({17}, DType::f64, 8, false, pos ? 0.3 : -2, 2);
    const Tensor dy = random_tensor({17}, DType::f64, 9);
    const Tensor dx = unary_backward(op, x, dy);
    for (int64_t i = 0; i < 17; ++i) {
      const double v = x.at({i}), h = 1e-6;
      if ((op == UnaryOp::relu || op == UnaryOp::abs) && std::fabs(v) < 1e-3) continue;
      const double num = (reference_unary(op, v + h) - reference_unary(op, v - h)) / (2 * h) * dy.at({i});
      EXPECT_NEAR(dx.at({i}), num, 1e-6 * std::max(1.0, std::fabs(num))) << unary_op_name(op);
    }
  }
}

TEST(Elementwise, CompareAndWhere) {
  const Tensor a = random_tensor({3, 4}, DType::f32, 6, true), b = random_tensor({4}, DType::f64, 7);
  const Tensor gt = compare(CompareOp::gt, a, b), le = compare(CompareOp::le, a, b);
  const Tensor w = where(gt, a, b);
  EXPECT_EQ(gt.dtype(), DType::u8);
  for_each_index({3, 4}, [&](const std::vector<int64_t>& i) {
    const double x = a.at(i), y = b.at({i[1]});
    EXPECT_EQ(gt.at(i), x > y ? 1.0 : 0.0);
    EXPECT_EQ(le.at(i), x <= y ? 1.0 : 0.0);
    EXPECT_EQ(w.at(i), x > y ? x : y);
  });
}

TEST(Elementwise, InPlaceAddIntoView) {
  Tensor dst = Tensor::zeros({4, 6}, DType::f32);
  Tensor col = dst.slice(1, 1, 6, 2);  // [4, 3] strided view
  const Tensor src = random_tensor({3}, DType::f32, 10);
  add_(col, src);
  add_(col, src);
  for_each_index({4, 6}, [&](const std::vector<int64_t>& i) {
    const bool hit = i[1] % 2 == 1;
    EXPECT_FLOAT_EQ(dst.at(i), hit ? 2 * src.at({i[1] / 2}) : 0.0);
  });
}

TEST(Elementwise, CopyOfTransposedView) {
  for (DType dt : {DType::f32, DType::f64, DType::i64}) {
    const Tensor x = random_tensor({70, 90}, DType::f64, 14, true).to(dt).transpose(0, 1);  // [90, 70] view
    const Tensor c = copy(x);
    EXPECT_TRUE(c.is_contiguous());
    EXPECT_FALSE(c.shares_storage(x));
    EXPECT_EQ(c.dtype(), dt);
    EXPECT_EQ(c.to_double_vector(), x.to_double_vector());
  }
}

TEST(Elementwise, LargeParallelResultIndependentOfThreads) {
  const Tensor a = random_tensor({300, 257}, DType::f32, 12, true), b = random_tensor({257}, DType::f32, 13);
  const int saved = num_threads();
  set_num_threads(1);
  const Tensor y1 = unary(UnaryOp::gelu_tanh, mul(a, b));
  set_num_threads(2);
  const Tensor y2 = unary(UnaryOp::gelu_tanh, mul(a, b));
  set_num_threads(saved);
  EXPECT_EQ(y1.to_float_vector(), y2.to_float_vector());
  for (int64_t i : {0L, 1000L, 77000L}) {
    const int64_t r = i / 257, c = i % 257;
    EXPECT_NEAR(y2.at({r, c}), reference_unary(UnaryOp::gelu_tanh, a.at({r, c}) * b.at({c})), 1e-5);
  }
}

}  // namespace
}  // namespace rotor::kernels
