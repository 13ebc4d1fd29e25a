// Times rotor's tensor kernels and autograd on fixed workloads; bench/tensor_ops.sh runs the same
// workloads in PyTorch (bench/tensor_ops_torch.py) and prints the ratios. Output: "name milliseconds"
// per line (median of several runs).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "rotor/autograd/ops.h"
#include "rotor/core/rng.h"
#include "rotor/core/threads.h"
#include "rotor/kernels/elementwise.h"
#include "rotor/kernels/linear.h"
#include "rotor/kernels/matmul.h"
#include "rotor/kernels/reduce.h"
#include "rotor/kernels/softmax.h"

using namespace rotor;
namespace ag = rotor::autograd;
namespace k = rotor::kernels;

static Tensor randn(const Shape& s, Rng& rng) {
  Tensor t = Tensor::empty(s);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.normal());
  return t;
}

static void time_it(const char* name, const std::function<void()>& f, int reps = 15) {
  f();  // warm up
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%s %.4f\n", name, ms[ms.size() / 2]);
  std::fflush(stdout);
}

int main(int argc, char** argv) {
  set_num_threads(argc > 1 ? std::atoi(argv[1]) : 1);
  Rng rng(0);
  const Tensor a = randn({4096, 1024}, rng), b = randn({1024}, rng);
  time_it("add_broadcast_4096x1024", [&] { k::add(a, b); });
  time_it("mul_transposed_1024x4096", [&] { k::mul(a.transpose(0, 1), a.transpose(0, 1)); });
  time_it("gelu_tanh_4M", [&] { k::unary(k::UnaryOp::gelu_tanh, a); });
  time_it("exp_4M", [&] { k::exp(a); });
  time_it("sum_rows_4096x1024", [&] { k::sum(a, {1}); });
  time_it("sum_cols_4096x1024", [&] { k::sum(a, {0}); });
  time_it("sum_all_4M", [&] { k::sum(a); });
  time_it("max_rows_4096x1024", [&] { k::max(a, {1}); });
  time_it("contiguous_transposed_1024x4096", [&] { (void)a.transpose(0, 1).contiguous(); });
  {
    const Tensor heads = randn({8, 256, 4, 64}, rng);
    time_it("contiguous_permuted_8x4x256x64", [&] { (void)heads.permute({0, 2, 1, 3}).contiguous(); });
  }
  time_it("softmax_rows_4096x1024", [&] { k::softmax(a, -1); });
  time_it("softmax_cols_4096x1024", [&] { k::softmax(a, 0); });

  // Autograd: layer_norm forward+backward, cross-entropy forward+backward, a 2-layer MLP step.
  {
    ag::Var x(randn({4096, 768}, rng), true), w(randn({768}, rng), true), bb(randn({768}, rng), true);
    const Tensor seed = randn({4096, 768}, rng);
    time_it("layer_norm_fwd_bwd_4096x768", [&] {
      ag::Var y = ag::layer_norm(x, w, bb);
      y.backward(seed);
    });
  }
  {
    ag::Var x(randn({2048, 1024}, rng), true);
    const Tensor seed = randn({2048, 1024}, rng);
    time_it("sigmoid_fwd_bwd_2048x1024", [&] {
      x.zero_grad();
      ag::sigmoid(x).backward(seed);
    });
    time_it("tanh_fwd_bwd_2048x1024", [&] {
      x.zero_grad();
      ag::tanh(x).backward(seed);
    });
    Tensor mask = Tensor::empty({2048, 1024}, DType::u8);  // a random mask (dropout-like)
    for (int64_t i = 0; i < mask.numel(); ++i) mask.data<uint8_t>()[i] = static_cast<uint8_t>(rng.uniform_int(2));
    time_it("masked_fill_fwd_bwd_2048x1024", [&] {
      x.zero_grad();
      ag::masked_fill(x, mask, -1e9).backward(seed);
    });
  }
  {
    ag::Var logits(randn({2048, 4096}, rng), true);
    std::vector<int64_t> t(2048);
    for (auto& v : t) v = static_cast<int64_t>(rng.uniform_int(4096));
    const Tensor targets = Tensor::from_vector(t, {2048});
    time_it("cross_entropy_fwd_bwd_2048x4096", [&] { ag::cross_entropy(logits, targets).backward(); });
  }
  {
    ag::Var x(randn({2048, 256}, rng)), y(randn({2048, 256}, rng));
    ag::Var w1(k::mul_scalar(randn({1024, 256}, rng), 0.05), true), b1(Tensor::zeros({1024}), true);
    ag::Var w2(k::mul_scalar(randn({256, 1024}, rng), 0.03), true), b2(Tensor::zeros({256}), true);
    time_it("mlp_step_2048x256x1024", [&] {
      ag::Var h = ag::gelu(ag::linear(x, w1, b1), ag::GeluForm::tanh);
      ag::Var loss = ag::mse_loss(ag::linear(h, w2, b2), y);
      for (ag::Var* p : {&w1, &b1, &w2, &b2}) p->zero_grad();
      loss.backward();
    });
  }
  {
    // Causal self-attention, B=8, T=256, H=4, Dh=64 (the GPT shape), forward + backward:
    // the fused kernel op and the composite of basic ops.
    const int64_t B = 8, T = 256, H = 4, Dh = 64;
    ag::Var qkv(k::mul_scalar(randn({B, T, 3 * H * Dh}, rng), 0.5), true);
    const Tensor seed = randn({B, T, H * Dh}, rng);
    time_it("attention_fused_fwd_bwd_8x256x4x64", [&] {
      ag::fused_causal_attention(qkv, {H, H, false, {}}).backward(seed);
    }, 5);
    time_it("attention_composite_fwd_bwd_8x256x4x64", [&] {
      auto heads = [&](int64_t i) {
        return ag::permute(ag::reshape(ag::narrow(qkv, 2, i * H * Dh, H * Dh), {B, T, H, Dh}), {0, 2, 1, 3});
      };
      ag::Var o = ag::scaled_dot_product_attention(heads(0), heads(1), heads(2), {true, 0, Tensor()});
      ag::reshape(ag::permute(o, {0, 2, 1, 3}), {B, T, H * Dh}).backward(seed);
    }, 5);
  }
  {
    // A 3x3 convolution layer (padding 1) forward + backward: [8, 64, 32, 32] -> [8, 64, 32, 32].
    ag::Var x(randn({8, 64, 32, 32}, rng), true), w(k::mul_scalar(randn({64, 64, 3, 3}, rng), 0.05), true),
        cb(Tensor::zeros({64}), true);
    const Tensor seed = randn({8, 64, 32, 32}, rng);
    time_it("conv2d_3x3_fwd_bwd_8x64x32x32", [&] {
      for (ag::Var* p : {&x, &w, &cb}) p->zero_grad();
      ag::conv2d(x, w, cb, {{1, 1}, {1, 1}, {1, 1}}).backward(seed);
    }, 5);
  }
  {
    // A stride-2 4x4 transposed convolution (padding 1) [8, 64, 16, 16] -> [8, 32, 32, 32], 2x2 max pooling
    // and 2x nearest upsampling, forward + backward.
    ag::Var x(randn({8, 64, 16, 16}, rng), true), w(k::mul_scalar(randn({64, 32, 4, 4}, rng), 0.05), true),
        b(Tensor::zeros({32}), true), xp(randn({8, 64, 32, 32}, rng), true);
    const Tensor seed = randn({8, 32, 32, 32}, rng), seed_pool = randn({8, 64, 16, 16}, rng),
                 seed_up = randn({8, 64, 32, 32}, rng);
    time_it("conv_transpose2d_4x4_s2_fwd_bwd_8x64x16x16", [&] {
      for (ag::Var* p : {&x, &w, &b}) p->zero_grad();
      ag::conv_transpose2d(x, w, b, {{2, 2}, {1, 1}, {1, 1}}).backward(seed);
    }, 5);
    time_it("max_pool2d_2x2_fwd_bwd_8x64x32x32", [&] {
      xp.zero_grad();
      ag::max_pool2d(xp, {2, 2}).backward(seed_pool);
    });
    time_it("upsample_nearest_2x_fwd_bwd_8x64x16x16", [&] {
      x.zero_grad();
      ag::upsample_nearest2d(x, {2, 2}).backward(seed_up);
    });
  }
  {
    // The linear layers' three products at the GPT's shapes (2048 tokens; qkv, out, up, down), f32:
    // forward with bias, input gradient, weight gradient (as kernels::linear_backward runs them).
    const int64_t N = 2048;
    for (const auto& [IN, OUT] : {std::pair<int64_t, int64_t>{256, 768}, {256, 256}, {256, 1024}, {1024, 256}}) {
      const Tensor x = randn({N, IN}, rng), w = randn({OUT, IN}, rng), bias = randn({OUT}, rng),
                   dy = randn({N, OUT}, rng);
      Tensor y = Tensor::empty({N, OUT}), dx = Tensor::empty({N, IN}), dw = Tensor::zeros({OUT, IN});
      const std::string shape = std::to_string(N) + "x" + std::to_string(IN) + "x" + std::to_string(OUT);
      time_it(("linear_fwd_" + shape).c_str(), [&] {
        k::linear_forward<float>(y.data<float>(), x.data<float>(), w.data<float>(), bias.data<float>(), N, IN, OUT);
      });
      time_it(("linear_dx_" + shape).c_str(), [&] {
        k::gemm_f32(false, false, N, IN, OUT, dy.data<float>(), w.data<float>(), dx.data<float>(), false);
      });
      time_it(("linear_dw_" + shape).c_str(), [&] {
        k::gemm_f32(true, false, OUT, IN, N, dy.data<float>(), x.data<float>(), dw.data<float>(), true);
      });
    }
  }
  return 0;
}
