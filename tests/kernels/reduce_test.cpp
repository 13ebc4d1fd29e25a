#include "rotor/kernels/reduce.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "rotor/core/threads.h"
#include "kernel_test_util.h"

namespace rotor::kernels {
namespace {

using testing_util::for_each_index;
using testing_util::random_tensor;

enum class Ref { sum, mean, max, min, logsumexp, var };

// Straightforward reference: visit every input element, drop the reduced coordinates, accumulate.
Tensor reference_reduce(const Tensor& x, Axes axes, bool keepdim, Ref kind) {
  axes = normalize_axes(axes, x.dim(), "ref");
  const Shape out_shape = reduced_shape(x.shape(), axes, true);
  const int64_t n_out = shape_numel(out_shape);
  std::vector<std::vector<double>> groups(static_cast<size_t>(n_out));
  for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
    int64_t o = 0;
    for (size_t d = 0; d < i.size(); ++d) o = o * out_shape[d] + (out_shape[d] == 1 ? 0 : i[d]);
    groups[o].push_back(x.at(i));
  });
  std::vector<double> out;
  for (const auto& g : groups) {
    double s = 0, m = -INFINITY, mn = INFINITY;
    for (double v : g) s += v, m = std::max(m, v), mn = std::min(mn, v);
    const double mean = s / static_cast<double>(g.size());
    double lse = 0, ss = 0;
    for (double v : g) lse += std::exp(v - m), ss += (v - mean) * (v - mean);
    switch (kind) {
      case Ref::sum: out.push_back(s); break;
      case Ref::mean: out.push_back(mean); break;
      case Ref::max: out.push_back(m); break;
      case Ref::min: out.push_back(mn); break;
      case Ref::logsumexp: out.push_back(std::log(lse) + m); break;
      case Ref::var: out.push_back(ss / static_cast<double>(g.size() - 1)); break;
    }
  }
  return Tensor::from_vector(out, keepdim ? out_shape : reduced_shape(x.shape(), axes, false));
}

Tensor run(const Tensor& x, const Axes& axes, bool keepdim, Ref kind) {
  switch (kind) {
    case Ref::sum: return sum(x, axes, keepdim);
    case Ref::mean: return mean(x, axes, keepdim);
    case Ref::max: return max(x, axes, keepdim);
    case Ref::min: return min(x, axes, keepdim);
    case Ref::logsumexp: return logsumexp(x, axes, keepdim);
    case Ref::var: return var(x, axes, 1, keepdim);
  }
  return {};
}

void expect_close(const Tensor& got, const Tensor& want, double tol) {
  ASSERT_EQ(got.shape(), want.shape());
  const auto g = got.to_double_vector(), w = want.to_double_vector();
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], w[i], tol * std::max(1.0, std::fabs(w[i]))) << "element " << i;
}

TEST(Reduce, AllKindsAllAxesMatchReference) {
  const std::vector<Axes> axes_sets = {{}, {0}, {1}, {-1}, {0, 2}, {1, 2}, {0, 1, 2}};
  for (DType dt : {DType::f32, DType::f64}) {
    for (bool transposed : {false, true}) {
      const Tensor x = random_tensor({4, 5, 6}, dt, 21, transposed);
      for (const Axes& axes : axes_sets)
        for (bool keepdim : {false, true})
          for (Ref kind : {Ref::sum, Ref::mean, Ref::max, Ref::min, Ref::logsumexp, Ref::var}) {
            const Tensor y = run(x, axes, keepdim, kind);
            EXPECT_EQ(y.dtype(), dt);
            expect_close(y, reference_reduce(x, axes, keepdim, kind), dt == DType::f64 ? 1e-12 : 1e-5);
          }
    }
  }
}

TEST(Reduce, LongAndWideReductionPathsAreThreadIndependent) {
  // Full reduction of a long vector (block path), column sums of a tall matrix (row path), row sums.
  const Tensor x = random_tensor({400, 300}, DType::f32, 22);
  const int saved = num_threads();
  for (const Axes& axes : {Axes{}, Axes{0}, Axes{1}}) {
    set_num_threads(1);
    const Tensor s1 = sum(x, axes), m1 = max(x, axes);
    set_num_threads(2);
    const Tensor s2 = sum(x, axes), m2 = max(x, axes);
    EXPECT_EQ(s1.to_float_vector(), s2.to_float_vector());
    EXPECT_EQ(m1.to_float_vector(), m2.to_float_vector());
    expect_close(s2, reference_reduce(x, axes, false, Ref::sum), 1e-5);
    expect_close(m2, reference_reduce(x, axes, false, Ref::max), 0);
  }
  set_num_threads(saved);
}

TEST(Reduce, ArgmaxArgmin) {
  const Tensor x = random_tensor({3, 7, 4}, DType::f32, 23, true);
  for (int64_t axis : {0, 1, 2, -1}) {
    const Tensor am = argmax(x, axis), an = argmin(x, axis, true);
    EXPECT_EQ(am.dtype(), DType::i64);
    const int64_t a = axis < 0 ? axis + 3 : axis;
    for_each_index(am.shape(), [&](const std::vector<int64_t>& o) {
      double best = -INFINITY, worst = INFINITY;
      int64_t bi = -1, wi = -1;
      for (int64_t k = 0; k < x.size(a); ++k) {
        std::vector<int64_t> i = o;
        i.insert(i.begin() + a, k);
        if (x.at(i) > best) best = x.at(i), bi = k;
        if (x.at(i) < worst) worst = x.at(i), wi = k;
      }
      EXPECT_EQ(am.at(o), bi);
      std::vector<int64_t> ok = o;
      ok.insert(ok.begin() + a, 0);
      EXPECT_EQ(an.at(ok), wi);
    });
  }
}

TEST(Reduce, SumToShapeInvertsBroadcast) {
  const Tensor g = random_tensor({2, 3, 4}, DType::f64, 24);
  const Tensor r = sum_to_shape(g, {3, 1});
  EXPECT_EQ(r.shape(), (Shape{3, 1}));
  expect_close(r, reference_reduce(g, {0, 2}, true, Ref::sum).view({3, 1}), 1e-12);
  EXPECT_EQ(sum_to_shape(g, {2, 3, 4}).shares_storage(g), true);
  EXPECT_THROW(sum_to_shape(g, {5}), Error);
}

// max/min over long unit-stride rows (the vector path with its tail): a NaN anywhere in a row wins,
// in the unrolled body or in the tail; other rows are exact.
TEST(Reduce, LongRowsPropagateNaN) {
  const int64_t C = 1000;  // 15 blocks of 64 and a tail of 40
  Tensor x = random_tensor({4, C}, DType::f32, 23);
  float* p = x.data<float>();
  p[0 * C + 70] = NAN;    // row 0: in the body
  p[1 * C + 990] = NAN;   // row 1: in the tail
  p[3 * C + 999] = 1e30f; // row 3: the largest element last
  for (bool is_max : {true, false}) {
    const Tensor y = is_max ? max(x, {1}) : min(x, {1});
    EXPECT_TRUE(std::isnan(y.at({0})));
    EXPECT_TRUE(std::isnan(y.at({1})));
    for (int64_t r : {2, 3}) {
      double want = is_max ? -INFINITY : INFINITY;
      for (int64_t i = 0; i < C; ++i) want = is_max ? std::max<double>(want, p[r * C + i]) : std::min<double>(want, p[r * C + i]);
      EXPECT_EQ(y.at({r}), want);
    }
  }
}

TEST(Reduce, EdgeCases) {
  const Tensor inf = Tensor::full({2, 3}, -INFINITY, DType::f32);
  EXPECT_TRUE(std::isinf(logsumexp(inf, {1}).at({0})));
  EXPECT_THROW(sum(Tensor::zeros({2}), {2}), Error);
  EXPECT_THROW(sum(Tensor::zeros({2, 2}), {1, -1}), Error);
  EXPECT_THROW(max(Tensor::zeros({0, 2}), {0}), Error);
  EXPECT_EQ(sum(Tensor::zeros({0, 2}), {0}).at({1}), 0.0);
}

}  // namespace
}  // namespace rotor::kernels
