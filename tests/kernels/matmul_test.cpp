#include "rotor/kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "rotor/core/rng.h"

namespace rotor::kernels {
namespace {

Tensor random_tensor(const Shape& shape, Rng& rng) {
  Tensor t = Tensor::empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.normal());
  return t;
}

// Reference: double-precision triple loop over logical indices (handles any strides / broadcast).
double ref_entry(const Tensor& a, const Tensor& b, int64_t batch_a, int64_t batch_b, int64_t i, int64_t j) {
  const int64_t K = a.size(-1);
  double s = 0;
  for (int64_t k = 0; k < K; ++k) {
    const double x = a.dim() == 3 ? a.at({batch_a, i, k}) : a.at({i, k});
    const double y = b.dim() == 3 ? b.at({batch_b, k, j}) : b.at({k, j});
    s += x * y;
  }
  return s;
}

TEST(Matmul, MatchesReferenceForViewsAndBroadcast) {
  Rng rng(3);
  struct Case { Shape a, b; bool transpose_a, transpose_b; };
  for (const Case& c : {Case{{5, 7}, {7, 3}, false, false}, Case{{7, 5}, {7, 3}, true, false},
                        Case{{5, 7}, {3, 7}, false, true}, Case{{4, 5, 7}, {4, 7, 6}, false, false},
                        Case{{4, 7, 5}, {7, 6}, true, false}, Case{{1, 33, 65}, {3, 65, 17}, false, false}}) {
    Tensor a = random_tensor(c.a, rng), b = random_tensor(c.b, rng);
    if (c.transpose_a) a = a.transpose(-1, -2);
    if (c.transpose_b) b = b.transpose(-1, -2);
    Tensor out = matmul(a, b);
    const int64_t M = a.size(-2), N = b.size(-1);
    const int64_t batch = out.dim() == 3 ? out.size(0) : 1;
    for (int64_t bi = 0; bi < batch; ++bi)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          const int64_t ba = a.dim() == 3 && a.size(0) > 1 ? bi : 0, bb = b.dim() == 3 && b.size(0) > 1 ? bi : 0;
          const double want = ref_entry(a, b, ba, bb, i, j);
          const double got = out.dim() == 3 ? out.at({bi, i, j}) : out.at({i, j});
          ASSERT_NEAR(got, want, 1e-4 * (1 + std::fabs(want))) << shape_str(c.a) << " x " << shape_str(c.b);
        }
  }
}

// 4-D operands whose batch dims do not merge into one stride (heads permuted out of [B, T, H, D] rows, a
// batch dim broadcast inside another): the outer batch dims are looped over instead of copied.
TEST(Matmul, UnmergeableBatchDimsMatchReference) {
  Rng rng(4);
  const int64_t B = 3, T = 9, H = 4, D = 8;
  const Tensor rows32 = random_tensor({B, T, 2 * H * D}, rng), shared32 = random_tensor({B, 1, D, 5}, rng);
  for (DType dt : {DType::f32, DType::bf16}) {  // element offsets scale with the element size
    const Tensor rows = rows32.to(dt);
    const Tensor q = rows.narrow(2, 0, H * D).view({B, T, H, D}).permute({0, 2, 1, 3});      // [B, H, T, D]
    const Tensor kt = rows.narrow(2, H * D, H * D).view({B, T, H, D}).permute({0, 2, 3, 1});  // [B, H, D, T]
    const Tensor shared = shared32.to(dt).expand({B, H, D, 5});                             // stride 0 in H
    struct Case { Tensor a, b; };
    for (const Case& c : {Case{q, kt}, Case{q, shared}}) {
      const Tensor out = matmul(c.a, c.b);
      const int64_t N = c.b.size(-1);
      ASSERT_EQ(out.shape(), (Shape{B, H, T, N}));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t i = 0; i < T; ++i)
            for (int64_t j = 0; j < N; ++j) {
              double want = 0;
              for (int64_t d = 0; d < D; ++d) want += double(c.a.at({b, h, i, d})) * c.b.at({b, h, d, j});
              ASSERT_NEAR(out.at({b, h, i, j}), want, 1e-4 * (1 + std::fabs(want)));  // f32 sums of the same products
            }
    }
  }
}

TEST(Matmul, Bf16InputsAccumulateInF32) {
  Rng rng(5);
  Tensor a = random_tensor({16, 64}, rng), b = random_tensor({64, 8}, rng);
  Tensor ab = a.to(DType::bf16), bb = b.to(DType::bf16);
  Tensor out = matmul(ab, bb);
  EXPECT_EQ(out.dtype(), DType::f32);
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t j = 0; j < 8; ++j) {
      // Exact products of the rounded inputs, summed in double: bf16 x bf16 products are exact in f32.
      double want = 0;
      for (int64_t k = 0; k < 64; ++k) want += ab.at({i, k}) * bb.at({k, j});
      EXPECT_NEAR(out.at({i, j}), want, 1e-4 * (1 + std::fabs(want)));
    }
}

// A bf16 output is the f32 result (with bias) rounded once: bit-identical to rounding gemm's f32 output.
TEST(Matmul, Bf16OutputIsTheRoundedF32Result) {
  const int64_t M = 37, N = 45, K = 70;
  Rng rng(21);
  std::vector<bf16> A(M * K), B(K * N);
  std::vector<float> bias(N);
  for (auto& v : A) v = float_to_bf16(float(rng.normal()));
  for (auto& v : B) v = float_to_bf16(float(rng.normal()));
  for (auto& v : bias) v = float(rng.normal());
  std::vector<float> C(M * N);
  std::vector<bf16> C16(M * N);
  kernels::gemm(1, M, N, K, DType::bf16, A.data(), kernels::row_major(M, K), B.data(), kernels::transposed(K, N),
                C.data(), kernels::row_major(M, N), false, bias.data());
  kernels::gemm_to_bf16(1, M, N, K, A.data(), kernels::row_major(M, K), B.data(), kernels::transposed(K, N), C16.data(),
                        kernels::row_major(M, N), bias.data());
  for (int64_t i = 0; i < M * N; ++i) ASSERT_EQ(C16[i].bits, float_to_bf16(C[i]).bits) << i;
}

TEST(Matmul, AccumulateAndCache) {
  const int64_t before = matmul_cache_size();
  std::vector<float> a = {1, 2, 3, 4}, b = {5, 6, 7, 8}, c = {1, 1, 1, 1};
  gemm_f32(false, false, 2, 2, 2, a.data(), b.data(), c.data(), /*accumulate=*/true);
  EXPECT_FLOAT_EQ(c[0], 1 + 1 * 5 + 2 * 7);
  EXPECT_FLOAT_EQ(c[3], 1 + 3 * 6 + 4 * 8);
  gemm_f32(false, false, 2, 2, 2, a.data(), b.data(), c.data(), true);
  EXPECT_EQ(matmul_cache_size(), before + 1);  // second call reuses the primitive
  gemm_f32(true, false, 2, 2, 2, a.data(), b.data(), c.data(), false);
  EXPECT_FLOAT_EQ(c[0], 1 * 5 + 3 * 7);
}

// The AMX query follows oneDNN's effective ISA, and oneDNN reports AMX only where the CPU has it.
TEST(Matmul, AmxQueryAgreesWithTheCpu) {
  __builtin_cpu_init();
  EXPECT_EQ(onednn_uses_amx(), std::string(onednn_isa_name()) == "avx512_core_amx");
  if (!cpu_has_amx_bf16()) {
    EXPECT_FALSE(onednn_uses_amx());
  }
  if (!__builtin_cpu_supports("avx512bf16")) {
    EXPECT_STRNE(onednn_isa_name(), "avx512_core_bf16");
  }
}

TEST(Matmul, RejectsMismatchedShapes) {
  EXPECT_THROW(matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 2})), Error);
  EXPECT_THROW(matmul(Tensor::zeros({2, 3}), Tensor::zeros({3, 2}, DType::bf16)), Error);
  EXPECT_THROW(matmul(Tensor::zeros({2, 2, 3}), Tensor::zeros({3, 3, 2})), Error);
}

}  // namespace
}  // namespace rotor::kernels
