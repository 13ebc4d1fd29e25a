// The machine's bounds for the autograd MLP bench (issue 12 part 3): how fast can one training step of
// 784-1024-1024-10 (batch 128, SGD momentum) be here, whoever runs it?
//   peak: the core's f32 FMA and bf16 dot-product (vdpbf16ps) rates, from independent register chains;
//   read bandwidth: one pass summing a 512 MB buffer (what a step's cold weights and gradients cost);
//   products: the step's eight matrix products (forward 3, input gradients 2, weight gradients 3) with warm
//     caches through the kernels autograd's linear calls (oneDNN f32; rotor's bf16 pair kernels / oneDNN);
//   sgd: the optimizer's momentum pass over the 1.86M parameters (w, g, m read; w, m written), warm.
// Prints "name value unit" lines; `bound_*_ms` = products + sgd, a floor for the step (it leaves out the
// activations, the loss and the cold-cache trips of a real step). bench/roofline.sh sets these beside the
// measured steps of rotor and PyTorch. Usage: roofline_bench [THREADS]
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "rotor/core/dtype.h"
#include "rotor/core/threads.h"
#include "rotor/kernels/bf16_convert.h"
#include "rotor/kernels/linear.h"
#include "rotor/kernels/matmul.h"
#include "rotor/optim/sgd.h"

using namespace rotor;
namespace k = rotor::kernels;

namespace {

template <class F> double best_seconds(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// 12 independent accumulators: enough chains to cover the FMA latency on both pipes.
double peak_f32_gflops(int threads) {
  const long n = 20'000'000;
  float sink = 0;
  const double s = best_seconds(3, [&] {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
      __m512 a[12];
      for (int j = 0; j < 12; ++j) a[j] = _mm512_set1_ps(1.0f + 1e-7f * float(j));
      const __m512 b = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
      for (long i = 0; i < n; ++i) {
#pragma GCC unroll 12
        for (int j = 0; j < 12; ++j) a[j] = _mm512_fmadd_ps(a[j], b, c);
      }
      for (int j = 0; j < 12; ++j) sink += _mm512_reduce_add_ps(a[j]);
    }
  });
  if (sink == 0.123f) std::printf("#\n");  // keeps the chains alive
  return double(n) * 12 * 32 * threads / s / 1e9;
}

double peak_bf16_gflops(int threads) {
#ifdef __AVX512BF16__
  const long n = 20'000'000;
  float sink = 0;
  const double s = best_seconds(3, [&] {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
      __m512 a[12];
      for (int j = 0; j < 12; ++j) a[j] = _mm512_set1_ps(0.0f);
      const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3c00);
      for (long i = 0; i < n; ++i) {
#pragma GCC unroll 12
        for (int j = 0; j < 12; ++j) a[j] = _mm512_dpbf16_ps(a[j], x, y);
      }
      for (int j = 0; j < 12; ++j) sink += _mm512_reduce_add_ps(a[j]);
    }
  });
  if (sink == 0.123f) std::printf("#\n");
  return double(n) * 12 * 64 * threads / s / 1e9;  // 16 lanes x 2 products x (multiply + add)
#else
  (void)threads;
  return 0;  // not built with AVX512-BF16
#endif
}

double read_gbytes_per_s(int threads) {
  const size_t n = size_t(512) << 20 >> 2;  // 512 MB of floats, a multiple of 64 per thread
  float* buf = static_cast<float*>(std::aligned_alloc(64, n * 4));
#pragma omp parallel for num_threads(threads)
  for (size_t i = 0; i < n; ++i) buf[i] = 1.0f;
  float total = 0;
  const double s = best_seconds(3, [&] {
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      const size_t begin = n / nt * t, end = n / nt * (t + 1);
      __m512 acc[4] = {_mm512_set1_ps(0), _mm512_set1_ps(0), _mm512_set1_ps(0), _mm512_set1_ps(0)};
      for (size_t i = begin; i < end; i += 64) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) acc[j] = _mm512_add_ps(acc[j], _mm512_load_ps(buf + i + 16 * j));
      }
      for (int j = 0; j < 4; ++j) total += _mm512_reduce_add_ps(acc[j]);
    }
  });
  std::free(buf);
  if (total == 0.5f) std::printf("#\n");
  return double(n) * 4 / s / 1e9;
}

struct Layer {
  int64_t in, out;
};
const Layer kLayers[] = {{784, 1024}, {1024, 1024}, {1024, 10}};
constexpr int64_t kBatch = 128;

double products_flop() {
  double f = 0;
  for (int l = 0; l < 3; ++l) {
    const double mnk = 2.0 * kBatch * double(kLayers[l].in) * double(kLayers[l].out);
    f += mnk * (l == 0 ? 2 : 3);  // forward, weight gradient, and the input gradient above layer 1
  }
  return f;
}

// One step's products in f32 through oneDNN, as autograd's linear runs them.
double products_f32_seconds() {
  std::vector<std::vector<float>> x, w, y, g, dx, dw;
  for (const Layer& L : kLayers) {
    x.emplace_back(kBatch * L.in, 0.5f);
    w.emplace_back(L.out * L.in, 0.01f);
    y.emplace_back(kBatch * L.out);
    g.emplace_back(kBatch * L.out, 0.01f);
    dx.emplace_back(kBatch * L.in);
    dw.emplace_back(L.out * L.in);
  }
  return best_seconds(30, [&] {
    for (int l = 0; l < 3; ++l)
      k::gemm_f32(false, true, kBatch, kLayers[l].out, kLayers[l].in, x[l].data(), w[l].data(), y[l].data());
    for (int l = 2; l >= 0; --l) {
      if (l > 0)
        k::gemm_f32(false, false, kBatch, kLayers[l].in, kLayers[l].out, g[l].data(), w[l].data(), dx[l].data());
      k::gemm_f32(true, false, kLayers[l].out, kLayers[l].in, kBatch, g[l].data(), x[l].data(), dw[l].data());
    }
  });
}

// The same in bf16 through the kernels of autograd's linear under autocast.
double products_bf16_seconds() {
  std::vector<std::vector<bf16>> x, w, g;
  std::vector<std::vector<float>> y, dx, dw;
  const bf16 half = float_to_bf16(0.5f), small = float_to_bf16(0.01f);
  for (const Layer& L : kLayers) {
    x.emplace_back(kBatch * L.in, half);
    w.emplace_back(L.out * L.in, small);
    g.emplace_back(kBatch * L.out, small);
    y.emplace_back(kBatch * L.out);
    dx.emplace_back(kBatch * L.in);
    dw.emplace_back(L.out * L.in);
  }
  return best_seconds(30, [&] {
    for (int l = 0; l < 3; ++l)
      k::linear_forward_bf16(y[l].data(), x[l].data(), w[l].data(), nullptr, kBatch, kLayers[l].in, kLayers[l].out);
    for (int l = 2; l >= 0; --l)
      k::linear_backward_bf16_prepared(l > 0 ? dx[l].data() : nullptr, dw[l].data(), g[l].data(), x[l].data(),
                                       w[l].data(), kBatch, kLayers[l].in, kLayers[l].out, /*overwrite_dinp=*/true,
                                       /*dinp16=*/nullptr, /*overwrite_dweight=*/true);
  });
}

double sgd_seconds() {
  int64_t n = 0;
  for (const Layer& L : kLayers) n += L.out * (L.in + 1);
  std::vector<float> w(n, 0.01f), g(n, 1e-4f), m(n, 0.0f);
  optim::SgdOptions opt;
  opt.momentum = 0.9;
  return best_seconds(30, [&] { optim::sgd_step(w.data(), g.data(), m.data(), n, 1e-3, false, opt); });
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::max(1, std::atoi(argv[1])) : 1;
  set_num_threads(threads);
  const double flop = products_flop();
  const double f32 = products_f32_seconds(), b16 = products_bf16_seconds(), sgd = sgd_seconds();
  std::printf("threads %d\n", threads);
  std::printf("peak_f32_fma %.1f GFLOP/s\n", peak_f32_gflops(threads));
  std::printf("peak_bf16_dot %.1f GFLOP/s\n", peak_bf16_gflops(threads));
  std::printf("read_bandwidth %.1f GB/s\n", read_gbytes_per_s(threads));
  std::printf("mlp_products_f32 %.3f ms %.1f GFLOP/s\n", f32 * 1e3, flop / f32 / 1e9);
  std::printf("mlp_products_bf16 %.3f ms %.1f GFLOP/s\n", b16 * 1e3, flop / b16 / 1e9);
  std::printf("mlp_sgd_momentum %.3f ms\n", sgd * 1e3);
  std::printf("bound_f32_ms %.3f\n", (f32 + sgd) * 1e3);
  std::printf("bound_bf16_ms %.3f\n", (b16 + sgd) * 1e3);
  return 0;
}
