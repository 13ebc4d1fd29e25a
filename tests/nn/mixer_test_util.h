#pragma once
// Shared by the sequence-mixer tests: the PyTorch reference files written by
// tests/nn/make_mixer_reference.py and a norm-relative comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/reduction.h"
#include "rotor/io/safetensors.h"
#include "rotor/nn/init.h"
#include "rotor/nn/module.h"

namespace rotor::nn::testing {

inline io::TensorMap mixer_file(const std::string& name) {
  return io::load_safetensors(std::string(ROTOR_SOURCE_DIR) + "/tests/nn/data/mixer_" + name + ".safetensors");
}

inline const Tensor& entry(const io::TensorMap& m, const std::string& name) {
  auto it = m.find(name);
  if (it == m.end()) throw Error(cat("mixer reference has no '", name, "'"));
  return it->second;
}

// Every element within rel * max|want| of want (relative to the tensor's scale, so elements near zero do
// not demand more digits than f32 holds).
inline void expect_rel_close(const Tensor& got, const Tensor& want, double rel, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what << " is undefined";
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto g = got.to_double_vector(), w = want.to_double_vector();
  double scale = 0;
  for (double v : w) scale = std::max(scale, std::fabs(v));
  ASSERT_GT(scale, 0) << what << " reference is all zeros";
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_LE(std::fabs(g[i] - w[i]), rel * scale) << what << " element " << i << ": " << g[i] << " vs " << w[i];
}

// max |a - b| over all elements.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto x = a.to_double_vector(), y = b.to_double_vector();
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i) d = std::max(d, std::fabs(x[i] - y[i]));
  return d;
}

// A mixer `forward` ([B, T, F] -> [B, T, ...]) is causal: redrawing x from position t0 on leaves every
// output before t0 bit-identical, and changes some output at or after t0 by more than `seen`.
inline void expect_causal(const std::function<Tensor(const Tensor&)>& forward, const Tensor& x, int64_t t0, Rng& rng,
                          double seen = 1e-5) {
  const int64_t T = x.size(1);
  Tensor changed = x.clone();
  Shape tail = x.shape();
  tail[1] = T - t0;
  changed.narrow(1, t0, T - t0).copy_(normal_tensor(tail, 0, 1, rng, x.dtype()));
  const Tensor a = forward(x), b = forward(changed);
  EXPECT_EQ(max_abs_diff(a.narrow(1, 0, t0), b.narrow(1, 0, t0)), 0.0) << "an output before " << t0 << " moved";
  EXPECT_GT(max_abs_diff(a.narrow(1, t0, T - t0), b.narrow(1, t0, T - t0)), seen) << "the change was not seen";
}

// A block whose PyTorch state dict is mixer_NAME_state and reference mixer_NAME_ref (x, out, seed_out,
// grad.x, grad.<param>): loads the state dict (strict), runs `forward` and compares the output and every
// gradient, relative `rel`.
inline void expect_block_matches_reference(Module& m, const std::function<autograd::Var(const autograd::Var&)>& forward,
                                           const std::string& name, DType dtype, double rel) {
  const io::TensorMap state = mixer_file(name + "_state"), ref = mixer_file(name + "_ref");
  m.load_state_dict(state);
  m.zero_grad();
  autograd::Var x(entry(ref, "x").to(dtype), true);
  autograd::Var y = forward(x);
  expect_rel_close(y.value(), entry(ref, "out"), rel, "out");
  autograd::sum(y * autograd::Var(entry(ref, "seed_out").to(dtype))).backward();
  expect_rel_close(x.grad(), entry(ref, "grad.x"), rel, "grad x");
  for (const auto& [param, p] : m.named_parameters()) expect_rel_close(p.grad(), entry(ref, "grad." + param), rel, "grad " + param);
}

// A function of named inputs with reference mixer_NAME_ref (the inputs, out, seed_out, grad.<input>):
// runs `fn` on the inputs (in `dtype`) and compares the output and each input's gradient, relative `rel`.
inline void expect_function_matches_reference(
    const std::string& name, const std::vector<std::string>& inputs,
    const std::function<autograd::Var(const std::vector<autograd::Var>&)>& fn, DType dtype, double rel) {
  const io::TensorMap ref = mixer_file(name + "_ref");
  std::vector<autograd::Var> in;
  for (const auto& n : inputs) in.emplace_back(entry(ref, n).to(dtype), true);
  autograd::Var y = fn(in);
  expect_rel_close(y.value(), entry(ref, "out"), rel, "out");
  autograd::sum(y * autograd::Var(entry(ref, "seed_out").to(dtype))).backward();
  for (size_t i = 0; i < in.size(); ++i) expect_rel_close(in[i].grad(), entry(ref, "grad." + inputs[i]), rel, "grad " + inputs[i]);
}

}  // namespace rotor::nn::testing
