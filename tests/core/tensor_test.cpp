#include "rotor/core/tensor.h"

#include <gtest/gtest.h>

#include "rotor/core/rng.h"

namespace rotor {
namespace {

Tensor iota(const Shape& shape) {
  Tensor t = Tensor::empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(i);
  return t;
}

TEST(Tensor, FactoriesAndAccess) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.numel(), 6);
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(z.at({1, 2}), 0.0);
  Tensor f = Tensor::full({4}, 2.5, DType::bf16);
  EXPECT_EQ(f.at({3}), 2.5);
  Tensor a = Tensor::arange(5, DType::i64);
  EXPECT_EQ(a.at({4}), 4.0);
  EXPECT_THROW(Tensor::from_vector(std::vector<float>{1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(z.at({2, 0}), Error);
  EXPECT_THROW(z.data<double>(), Error);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = iota({2, 3, 4});
  Tensor tr = t.transpose(0, 2);
  EXPECT_TRUE(tr.shares_storage(t));
  EXPECT_FALSE(tr.is_contiguous());
  EXPECT_EQ(tr.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(tr.at({3, 2, 1}), t.at({1, 2, 3}));
  Tensor s = t.slice(2, 1, 4, 2);
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(s.at({1, 1, 1}), t.at({1, 1, 3}));
  Tensor sel = t.select(1, -1);
  EXPECT_EQ(sel.shape(), (Shape{2, 4}));
  EXPECT_EQ(sel.at({1, 0}), t.at({1, 2, 0}));
  Tensor p = t.permute({1, 0, 2});
  EXPECT_EQ(p.at({2, 1, 3}), t.at({1, 2, 3}));
  Tensor e = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3, 1}).expand({3, 5});
  EXPECT_EQ(e.stride(1), 0);
  EXPECT_EQ(e.at({2, 4}), 3.0);
  Tensor u = t.unsqueeze(1);
  EXPECT_EQ(u.shape(), (Shape{2, 1, 3, 4}));
  EXPECT_EQ(u.squeeze(1).shape(), t.shape());
  p.set({0, 0, 0}, 42);
  EXPECT_EQ(t.at({0, 0, 0}), 42.0);  // writes through a view are visible
}

TEST(Tensor, ViewOfNonContiguous) {
  Tensor t = iota({4, 6});
  Tensor tr = t.transpose(0, 1);  // [6, 4], strides [1, 6]
  // Splitting a dimension of a transposed tensor is a view.
  Tensor v = tr.view({2, 3, 4});
  EXPECT_TRUE(v.shares_storage(t));
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(v.at({i / 3, i % 3, j}), tr.at({i, j}));
  // Merging non-chained dimensions is not.
  EXPECT_THROW(tr.view({24}), Error);
  Tensor r = tr.reshape({24});
  EXPECT_FALSE(r.shares_storage(t));
  EXPECT_EQ(r.at({5}), tr.at({1, 1}));
  // A slice keeps chained inner dims: [4, 3] with strides [6, 1] merges to nothing but splits fine.
  Tensor s = t.slice(1, 0, 3);
  EXPECT_EQ(s.view({4, 3, 1}).at({2, 1, 0}), t.at({2, 1}));
  EXPECT_THROW(s.view({12}), Error);
  EXPECT_EQ(t.view({-1, 3}).shape(), (Shape{8, 3}));
}

TEST(Tensor, ContiguousCopiesOnlyWhenNeeded) {
  Tensor t = iota({3, 4});
  EXPECT_TRUE(t.contiguous().shares_storage(t));
  Tensor c = t.transpose(0, 1).contiguous();
  EXPECT_FALSE(c.shares_storage(t));
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.at({3, 2}), t.at({2, 3}));
}

// copy_ over every layout the strided walk distinguishes (dense runs, transposed tiles with ragged
// edges, permutations, broadcasts, offsets, a strided destination), for each element width.
TEST(Tensor, CopyMatchesElementwiseForEveryLayoutAndWidth) {
  for (DType dt : {DType::u8, DType::bf16, DType::f32, DType::i64}) {
    const Tensor t = iota({5, 37, 21}).to(dt);  // (u8 and bf16 keep whatever they keep: copies compare bits)
    const Tensor wide = iota({3, 100, 70}).to(dt);
    std::vector<Tensor> sources = {
        wide.transpose(1, 2),                               // [3, 70, 100]: 16 x 16 tiles, ragged edges
        t.transpose(1, 2),                                  // [5, 21, 37]: short strides, row by row
        t.permute({1, 0, 2}),                               // dense runs of 21
        t.permute({2, 1, 0}),                               // fully reversed strides
        t.slice(1, 3, 30, 2).transpose(0, 2),               // slice with offset and step
        t.select(2, 4).unsqueeze(2).expand({5, 37, 6}),      // broadcast (stride 0)
    };
    for (const Tensor& src : sources) {
      const Tensor c = src.contiguous();
      ASSERT_TRUE(c.is_contiguous());
      ASSERT_EQ(c.shape(), src.shape());
      for (int64_t i = 0; i < src.size(0); ++i)
        for (int64_t j = 0; j < src.size(1); ++j)
          for (int64_t k = 0; k < src.size(2); ++k) ASSERT_EQ(c.at({i, j, k}), src.at({i, j, k})) << dtype_name(dt);
      // a converting copy walks the same layouts (f64 holds every value of these types exactly)
      const Tensor wide64 = src.to(DType::f64);
      for (int64_t i = 0; i < src.size(0); ++i)
        for (int64_t j = 0; j < src.size(1); ++j)
          for (int64_t k = 0; k < src.size(2); ++k) ASSERT_EQ(wide64.at({i, j, k}), src.at({i, j, k}));
      // the same values written through a transposed destination view
      Tensor dst_storage = Tensor::zeros({src.size(2), src.size(1), src.size(0)}, dt);
      Tensor dst = dst_storage.permute({2, 1, 0});
      dst.copy_(src);
      for (int64_t i = 0; i < src.size(0); ++i)
        for (int64_t j = 0; j < src.size(1); ++j)
          for (int64_t k = 0; k < src.size(2); ++k) ASSERT_EQ(dst_storage.at({k, j, i}), src.at({i, j, k}));
    }
  }
}

TEST(Tensor, DTypeConversionRoundTrips) {
  Tensor t = Tensor::from_vector(std::vector<float>{1.0f, -2.5f, 3.14159f, 65504.0f}, {4});
  Tensor b = t.to(DType::bf16);
  EXPECT_EQ(b.dtype(), DType::bf16);
  EXPECT_NEAR(b.at({2}), 3.14159, 0.02);
  Tensor h = t.to(DType::f16);
  EXPECT_NEAR(h.at({2}), 3.14159, 0.002);
  EXPECT_EQ(h.at({3}), 65504.0);
  Tensor i = t.to(DType::i32);
  EXPECT_EQ(i.at({1}), -2.0);
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 1.0f / 256)), 1.0f);  // ties round to even
  EXPECT_EQ(f16_to_float(float_to_f16(1e-7f)), 1.1920928955078125e-07f);  // subnormal
}

TEST(Tensor, BroadcastShapes) {
  EXPECT_EQ(broadcast_shapes({3, 1, 5}, {4, 1}), (Shape{3, 4, 5}));
  EXPECT_THROW(broadcast_shapes({3, 2}, {4, 2}), Error);
}

TEST(Rng, SameSeedSameStream) {
  Rng a(7), b(7), c(8);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(a.next_u64(), c.next_u64());
  Rng r(1);
  double sum = 0, sq = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.02);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(r.uniform_int(7), 7u);
}

}  // namespace
}  // namespace rotor
