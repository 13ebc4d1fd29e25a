#include "rotor/autograd/linalg.h"

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/autocast.h"
#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/views.h"
#include "rotor/kernels/bf16_convert.h"
#include "rotor/kernels/elementwise.h"
#include "rotor/kernels/linear.h"
#include "rotor/kernels/matmul.h"
#include "rotor/kernels/matmul_f64.h"
#include "rotor/kernels/reduce.h"

namespace rotor::autograd {

namespace k = rotor::kernels;
using Grads = std::vector<Tensor>;
using Vars = std::vector<Var>;

namespace {

// Tensor product by dtype: f64 when either is f64, bf16 x bf16 on oneDNN, otherwise f32 on oneDNN.
Tensor product(const Tensor& a, const Tensor& b) {
  if (a.dtype() == DType::f64 || b.dtype() == DType::f64)
    return k::matmul_f64(a.to(DType::f64), b.to(DType::f64));
  if (a.dtype() == DType::bf16 && b.dtype() == DType::bf16) return k::matmul(a, b);
  return k::matmul(a.dtype() == DType::f32 ? a : a.to(DType::f32), b.dtype() == DType::f32 ? b : b.to(DType::f32));
}

// C = A B over matrices with >= 2 dims each: dA = dC B^T, dB = A^T dC (summed over broadcast batch dims).
Var matmul_2d_or_more(const Var& a, const Var& b) {
  const Tensor av = a.value(), bv = b.value();
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("matmul", product(av, bv), {a, b}, [av, bv, ga, gb](const Tensor& g) {
    Tensor da, db;
    if (ga) da = k::sum_to_shape(product(g, bv.transpose(-1, -2)), av.shape());
    if (gb) db = k::sum_to_shape(product(av.transpose(-1, -2), g), bv.shape());
    return Grads{da, db};
  }, [](const Var& g, const Vars& in) {
    const Var &a = in[0], &b = in[1];
    return Vars{a.requires_grad() ? sum_to_shape(matmul(g, transpose(b, -1, -2)), a.shape()) : Var(),
                b.requires_grad() ? sum_to_shape(matmul(transpose(a, -1, -2), g), b.shape()) : Var()};
  });
}

// linear's recorded inputs: x, weight and the bias when there is one.
std::vector<Var> linear_inputs(const Var& x, const Var& weight, const Var& bias) {
  std::vector<Var> inputs{x, weight};
  if (bias.defined()) inputs.push_back(bias);
  return inputs;
}

// A contiguous bf16 copy of an f32 tensor.
Tensor to_bf16(const Tensor& t) {
  const Tensor src = t.contiguous();
  Tensor out = Tensor::empty(src.shape(), DType::bf16);
  k::float_to_bf16_buffer(out.data<bf16>(), src.data<float>(), src.numel());
  return out;
}

// linear under autocast: y [N, OUT] = bf16(x) bf16(W)^T + b in f32; the backward's products read the
// saved bf16 copies and bf16(dy):  dx = dy W,  dW = dy^T x,  db = sum_rows dy (f32).
Var linear_bf16(const Var& x, const Var& weight, const Var& bias, const Shape& y_shape) {
  const int64_t in = weight.size(1), out = weight.size(0);
  const Tensor x16 = to_bf16(x.value().reshape({-1, in})), w16 = to_bf16(weight.value());
  const int64_t N = x16.size(0);
  const Tensor bv = bias.defined() ? bias.value().contiguous() : Tensor();
  Tensor y = Tensor::empty({N, out});
  k::linear_forward_bf16(y.data<float>(), x16.data<bf16>(), w16.data<bf16>(), bv.defined() ? bv.data<float>() : nullptr,
                         N, in, out);
  const bool gx = x.requires_grad(), gw = weight.requires_grad(), gb = bias.requires_grad();
  const Shape x_shape = x.shape();
  const bool has_bias = bias.defined();
  return record("linear", y.view(y_shape), linear_inputs(x, weight, bias), [=](const Tensor& g_in) {
    const Tensor g = (g_in.dtype() == DType::f32 ? g_in : g_in.to(DType::f32)).contiguous();  // [N, out]
    Tensor g16 = Tensor::empty({N, out}, DType::bf16);
    Tensor db = has_bias && gb ? Tensor::zeros({out}) : Tensor();
    k::prepare_output_grad_bf16(g16.data<bf16>(), db.defined() ? db.data<float>() : nullptr, g.data<float>(), nullptr,
                                N, out);
    Tensor dx = gx ? Tensor::empty({N, in}) : Tensor();
    Tensor dw = Tensor::empty({out, in});  // written by the kernel
    k::linear_backward_bf16_prepared(dx.defined() ? dx.data<float>() : nullptr, dw.data<float>(), g16.data<bf16>(),
                                     x16.data<bf16>(), w16.data<bf16>(), N, in, out, /*overwrite_dinp=*/true,
                                     /*dinp16=*/nullptr, /*overwrite_dweight=*/true);
    std::vector<Tensor> grads{gx ? dx.view(x_shape) : Tensor(), gw ? dw : Tensor()};
    if (has_bias) grads.push_back(db);
    return grads;
  });
}

}  // namespace

Var matmul(const Var& a, const Var& b) {
  ROTOR_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: operands must have at least one dimension, got ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), b.dim() == 1 ? -1 : -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  ROTOR_CHECK(a.size(-1) == b.size(-2), "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
              " do not match (", a.size(-1), " vs ", b.size(-2), ")");
  if (b.dim() == 2 && a.dim() > 2) {
    Shape out_shape = a.shape();
    out_shape.back() = b.size(1);
    return reshape(matmul_2d_or_more(reshape(a, {-1, a.size(-1)}), b), out_shape);
  }
  return matmul_2d_or_more(a, b);
}

Var bmm(const Var& a, const Var& b) {
  ROTOR_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1),
              "bmm: expects [B, M, K] x [B, K, N], got ", shape_str(a.shape()), " and ", shape_str(b.shape()));
  return matmul_2d_or_more(a, b);
}

// y = x W^T (+ b), as one node on x folded to [rows, in]:
//   dx = dy W,  dW = dy^T x (one GEMM over all rows, already in W's [out, in] layout),  db = sum_rows dy.
Var linear(const Var& x, const Var& weight, const Var& bias) {
  ROTOR_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got ", shape_str(weight.shape()));
  ROTOR_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input has ", x.dim() ? x.size(-1) : 0,
              " features, weight ", shape_str(weight.shape()), " expects ", weight.size(1));
  ROTOR_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)), "linear: bias ",
              shape_str(bias.shape()), " does not match ", weight.size(0), " outputs");
  const int64_t in = weight.size(1), out = weight.size(0);
  Shape y_shape = x.shape();
  y_shape.back() = out;
  if (autocast_bf16() && x.dtype() == DType::f32 && weight.dtype() == DType::f32 &&
      (!bias.defined() || bias.dtype() == DType::f32))
    return linear_bf16(x, weight, bias, y_shape);
  const Tensor x2 = x.value().reshape({-1, in}), wv = weight.value();
  Tensor y = product(x2, wv.transpose(0, 1));  // [rows, out]
  if (bias.defined()) k::add_(y, bias.value());
  const bool gx = x.requires_grad(), gw = weight.requires_grad(), gb = bias.requires_grad();
  const Shape x_shape = x.shape();
  const bool has_bias = bias.defined();
  return record("linear", y.view(y_shape), linear_inputs(x, weight, bias), [=](const Tensor& g_in) {
    const Tensor g = g_in.reshape({-1, out});  // [rows, out]
    std::vector<Tensor> grads{gx ? product(g, wv).view(x_shape) : Tensor(),
                              gw ? product(g.transpose(0, 1), x2) : Tensor()};
    if (has_bias) grads.push_back(gb ? k::sum(g, {0}) : Tensor());
    return grads;
  }, [in, out](const Var& g_in, const Vars& inputs) {
    const Var g = reshape(g_in, {-1, out});  // [rows, out]
    const Var &x = inputs[0], &w = inputs[1];
    Vars grads{x.requires_grad() ? reshape(matmul(g, w), x.shape()) : Var(),
               w.requires_grad() ? matmul(transpose(g, 0, 1), reshape(x, {-1, in})) : Var()};
    if (inputs.size() > 2) grads.push_back(inputs[2].requires_grad() ? sum(g, {0}) : Var());
    return grads;
  });
}

void register_linalg_gradchecks(GradcheckRegistry& r) {
  r.add({"matmul", "matrix", {{{3, 4}, {4, 5}}, {{1, 3}, {3, 1}}},
         [](const VarList& in) { return matmul(in[0], in[1]); }});
  r.add({"matmul", "vector", {{{4}, {4, 3}}, {{2, 4}, {4}}, {{4}, {4}}},
         [](const VarList& in) { return matmul(in[0], in[1]); }});
  r.add(GradcheckCase{"matmul", "batched broadcast", {{{2, 3, 4}, {4, 5}}, {{2, 1, 3, 4}, {3, 4, 2}}, {{3, 4}, {2, 4, 3}}},
                      [](const VarList& in) { return matmul(in[0], in[1]); }}
            .with_broadcasting());
  r.add({"bmm", "batched", {{{2, 3, 4}, {2, 4, 5}}, {{1, 1, 3}, {1, 3, 2}}}, [](const VarList& in) { return bmm(in[0], in[1]); }});
  r.add({"linear", "with bias", {{{2, 3, 4}, {5, 4}, {5}}, {{4}, {3, 4}, {3}}},
         [](const VarList& in) { return linear(in[0], in[1], in[2]); }});
  r.add({"linear", "without bias", {{{3, 4}, {5, 4}}}, [](const VarList& in) { return linear(in[0], in[1]); }});
}

}  // namespace rotor::autograd
