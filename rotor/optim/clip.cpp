#include "rotor/optim/clip.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "rotor/core/threads.h"

namespace rotor::optim {

double global_norm(const float* grads, int64_t n) {
  constexpr int64_t kBlock = 1 << 14;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks, 0.0);
#pragma omp parallel for if (n >= kParallelThreshold)
  for (int64_t b = 0; b < blocks; ++b) {
    double s = 0;
    const int64_t end = std::min(n, (b + 1) * kBlock);
#pragma omp simd reduction(+ : s)
    for (int64_t i = b * kBlock; i < end; ++i) s += double(grads[i]) * double(grads[i]);
    partial[b] = s;
  }
  double total = 0;
  for (double p : partial) total += p;
  return std::sqrt(total);
}

double clip_global_norm(float* grads, int64_t n, double max_norm) {
  const double norm = global_norm(grads, n);
  if (norm > max_norm) {
    const float scale = float(max_norm / (norm + 1e-6));
#pragma omp parallel for simd if (n >= kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) grads[i] *= scale;
  }
  return norm;
}

double clip_parameter_gradients(const std::vector<autograd::Var>& params, double max_norm) {
  double sum = 0;
  for (const autograd::Var& p : params) {
    if (!p.grad().defined()) continue;
    const Tensor g = p.grad().contiguous();
    const float* d = g.data<float>();
    for (int64_t i = 0; i < g.numel(); ++i) sum += double(d[i]) * double(d[i]);
  }
  const double norm = std::sqrt(sum);
  if (max_norm > 0 && std::isfinite(norm) && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (const autograd::Var& p : params) {
      if (!p.grad().defined()) continue;
      Tensor g = p.grad().clone();
      float* d = g.data<float>();
      for (int64_t i = 0; i < g.numel(); ++i) d[i] *= scale;
      autograd::Var(p).set_grad(g);
    }
  }
  return norm;
}

}  // namespace rotor::optim
