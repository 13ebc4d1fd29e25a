// Gradient-check cases for the transformer's kernels (rotor/kernels/*.h): the paths that no autograd op
// reaches (the fused linear layer, the bf16 kernels, RoPE alone, the KV-cache decode step, the position
// table, the fused cross-entropy), each wrapped here as a tape op over raw buffers, and the declarations of
// which backward kernels the autograd ops run.
#include <cmath>
#include <vector>

#include "rotor/autograd/fused_attention.h"
#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/losses.h"
#include "rotor/autograd/ops.h"
#include "rotor/kernels/activations.h"
#include "rotor/kernels/attention.h"
#include "rotor/kernels/bf16_convert.h"
#include "rotor/kernels/cross_entropy.h"
#include "rotor/kernels/elementwise.h"
#include "rotor/kernels/layernorm.h"
#include "rotor/kernels/linear.h"
#include "rotor/kernels/position_encoding.h"

namespace rotor::autograd {

namespace k = rotor::kernels;
using Grads = std::vector<Tensor>;

namespace {

// v's values as a dense tensor of dtype dt.
Tensor dense(const Var& v, DType dt) { return v.dtype() == dt ? v.value().contiguous() : v.value().to(dt); }
DType compute_type(const Var& v) { return v.dtype() == DType::f64 ? DType::f64 : DType::f32; }

// A bf16 copy of f32 values (which the bf16 cases hold already rounded: the copy is exact).
std::vector<bf16> to_bf16(const Tensor& t) {
  const Tensor c = t.to(DType::f32);
  std::vector<bf16> out(static_cast<size_t>(c.numel()));
  k::float_to_bf16_buffer(out.data(), c.data<float>(), c.numel());
  return out;
}
Tensor from_bf16(const std::vector<bf16>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::f32);
  k::bf16_to_float_buffer(t.data<float>(), v.data(), t.numel());
  return t;
}

// ---- linear (kernels/linear.h): y [N, OUT] = x [N, IN] W^T + b, W: [OUT, IN] ----

template <class T>
Var linear_kernel_typed(const Var& x, const Var& w, const Var& b) {
  const DType dt = dtype_of<T>::value;
  const int64_t N = x.size(0), IN = x.size(1), OUT = w.size(0);
  const Tensor xv = dense(x, dt), wv = dense(w, dt), bv = dense(b, dt);
  Tensor y = Tensor::empty({N, OUT}, dt);
  k::linear_forward<T>(y.data<T>(), xv.data<T>(), wv.data<T>(), bv.data<T>(), N, IN, OUT);
  return record("linear_kernel", y, {x, w, b}, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dt);
    Tensor dx = Tensor::zeros({N, IN}, dt), dw = Tensor::zeros({OUT, IN}, dt), db = Tensor::zeros({OUT}, dt);
    k::linear_backward<T>(dx.data<T>(), dw.data<T>(), db.data<T>(), g.data<T>(), xv.data<T>(), wv.data<T>(), N, IN,
                          OUT);
    return Grads{dx, dw, db};
  });
}

Var linear_kernel(const VarList& in) {
  return compute_type(in[0]) == DType::f64 ? linear_kernel_typed<double>(in[0], in[1], in[2])
                                           : linear_kernel_typed<float>(in[0], in[1], in[2]);
}

// bf16 matmuls with f32 accumulation: no rounding beyond the (already rounded) inputs and output weights.
// With `prepared`, the backward takes the output gradient as bf16 training prepares it (bf16 copy and
// bias gradient by prepare_output_grad_bf16) into linear_backward_bf16_prepared.
Var linear_kernel_bf16(const VarList& in, bool prepared) {
  const int64_t N = in[0].size(0), IN = in[0].size(1), OUT = in[1].size(0);
  const auto x16 = to_bf16(in[0].value()), w16 = to_bf16(in[1].value());
  const Tensor bv = dense(in[2], DType::f32);
  Tensor y = Tensor::empty({N, OUT}, DType::f32);
  k::linear_forward_bf16(y.data<float>(), x16.data(), w16.data(), bv.data<float>(), N, IN, OUT);
  return record("linear_kernel", y, {in[0], in[1], in[2]}, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(DType::f32);
    const auto g16 = to_bf16(g);
    Tensor dx = Tensor::zeros({N, IN}), dw = Tensor::zeros({OUT, IN}), db = Tensor::zeros({OUT});
    if (prepared) {
      std::vector<bf16> p16(g16.size());
      k::prepare_output_grad_bf16(p16.data(), db.data<float>(), g.data<float>(), nullptr, N, OUT);
      k::linear_backward_bf16_prepared(dx.data<float>(), dw.data<float>(), p16.data(), x16.data(), w16.data(), N, IN,
                                       OUT);
    } else {
      k::linear_backward_bf16(dx.data<float>(), dw.data<float>(), db.data<float>(), g.data<float>(), g16.data(),
                              x16.data(), w16.data(), N, IN, OUT);
    }
    return Grads{dx, dw, db};
  });
}

// The autograd op of an activation (the f64 reference of the kernel paths below).
Var activation_op(k::Activation act, const Var& x) {
  switch (act) {
    case k::Activation::gelu_erf: return gelu(x, GeluForm::erf);
    case k::Activation::gelu_tanh: return gelu(x, GeluForm::tanh);
    case k::Activation::silu: return silu(x);
    case k::Activation::relu: break;
  }
  return relu(x);
}

// ---- activations in bf16 (kernels/activations.h): forward rounds its output, backward its input gradient ----

Var activation_bf16(k::Activation act, const Var& x) {
  const int64_t n = x.numel(), C = x.size(-1);
  const auto x16 = to_bf16(x.value());
  std::vector<bf16> y16(static_cast<size_t>(n));
  k::activation_forward_bf16(act, y16.data(), x16.data(), n);
  const Shape shape = x.shape();
  const char* name = act == k::Activation::gelu_erf ? "gelu_erf" : act == k::Activation::gelu_tanh ? "gelu_tanh" : "silu";
  return record(name, from_bf16(y16, shape), {x}, [=](const Tensor& g) {
    const auto g16 = to_bf16(g);
    std::vector<bf16> dx16(static_cast<size_t>(n));
    k::activation_backward_prepare_bf16(act, dx16.data(), nullptr, g16.data(), x16.data(), n / C, C);
    return Grads{from_bf16(dx16, shape)};
  });
}

// The f32 training path that saves act'(x) in the forward: float only, so f64 inputs take the autograd op.
Var activation_saving_grad(k::Activation act, const Var& x) {
  if (x.dtype() == DType::f64) return activation_op(act, x);
  const int64_t n = x.numel();
  const Tensor xv = dense(x, DType::f32);
  Tensor y = Tensor::empty(x.shape()), saved = Tensor::empty(x.shape());
  k::activation_forward_saving_grad(act, y.data<float>(), nullptr, saved.data<float>(), xv.data<float>(), n);
  return record("activation_saving_grad", y, {x}, [=](const Tensor& g_in) {
    const Tensor g = dense(Var(g_in), DType::f32);
    Tensor dx = Tensor::zeros(saved.shape());
    k::activation_backward_from_grad(dx.data<float>(), g.data<float>(), saved.data<float>(), n);
    return Grads{dx};
  });
}

// SwiGLU's bf16 forward (the backward of bf16 training runs in f32: gated_backward).
Var gated_bf16_forward(const Var& x) {
  const int64_t H = x.size(-1) / 2, N = x.numel() / (2 * H);
  const Tensor xv = dense(x, DType::f32);
  std::vector<bf16> y16(static_cast<size_t>(N * H));
  k::gated_forward_bf16(k::Activation::silu, y16.data(), xv.data<float>(), N, H);
  Shape shape = x.shape();
  shape.back() = H;
  return Var(from_bf16(y16, shape));  // forward only
}

// ---- norms with a bf16 output and a bf16 output gradient (kernels/layernorm.h); x: [N, C] ----

Var norm_bf16(bool rms, const VarList& in) {
  const int64_t C = in[0].size(-1), N = in[0].numel() / C;
  const Tensor xv = dense(in[0], DType::f32), wv = dense(in[1], DType::f32);
  const Tensor bv = rms ? Tensor() : dense(in[2], DType::f32);
  std::vector<bf16> y16(static_cast<size_t>(N * C));
  Tensor mean = Tensor::empty({N}), rstd = Tensor::empty({N});
  if (rms) k::rmsnorm_forward_bf16(y16.data(), rstd.data<float>(), xv.data<float>(), wv.data<float>(), N, C, 1e-5);
  else
    k::layernorm_forward_bf16(y16.data(), mean.data<float>(), rstd.data<float>(), xv.data<float>(), wv.data<float>(),
                              bv.data<float>(), N, C, 1e-5);
  const Shape shape = in[0].shape();
  return record(rms ? "rms_norm" : "layer_norm", from_bf16(y16, shape), in, [=](const Tensor& g) {
    const auto g16 = to_bf16(g);
    Tensor dx = Tensor::zeros(shape), dw = Tensor::zeros({C}), db = Tensor::zeros({C});  // the kernels add
    if (rms)
      k::rmsnorm_backward_bf16(dx.data<float>(), dw.data<float>(), g16.data(), xv.data<float>(), wv.data<float>(),
                               rstd.data<float>(), N, C);
    else
      k::layernorm_backward_bf16(dx.data<float>(), dw.data<float>(), db.data<float>(), g16.data(), xv.data<float>(),
                                 wv.data<float>(), mean.data<float>(), rstd.data<float>(), N, C);
    return rms ? Grads{dx, dw} : Grads{dx, dw, db};
  });
}

// ---- RoPE alone (kernels/attention.h): qkv [B, T, (H + 2 KV) Dh] -> the same with q and k rotated ----

k::AttentionDims dims_of(const Var& qkv, int64_t H, int64_t KV) {
  k::AttentionDims d;
  d.B = qkv.size(0);
  d.T = qkv.size(1);
  d.H = H;
  d.KV = KV;
  d.Dh = qkv.size(2) / (H + 2 * KV);
  return d;
}

template <class T>
Var rope_typed(const Var& qkv, const k::AttentionDims& d, const k::RopeSpec& spec) {
  const DType dt = dtype_of<T>::value;
  const auto table = k::make_rope_table<T>(spec, d.T);
  Tensor y = dense(qkv, dt).clone();
  k::rope_qkv_forward<T>(y.data<T>(), d, table);
  return record("rope_qkv", y, {qkv}, [=](const Tensor& g) {
    Tensor dx = g.to(dt).clone();
    k::rope_qkv_backward<T>(dx.data<T>(), d, table);
    return Grads{dx};
  });
}

Var rope(const Var& qkv, int64_t H, int64_t KV, k::RopeSpec spec) {
  const k::AttentionDims d = dims_of(qkv, H, KV);
  spec.head_dim = d.Dh;
  return compute_type(qkv) == DType::f64 ? rope_typed<double>(qkv, d, spec) : rope_typed<float>(qkv, d, spec);
}

// bf16 training's RoPE: rotation of a bf16 qkv (rounded after), backward fused with the bf16 rounding of
// the gradient.
Var rope_bf16(const Var& qkv, int64_t H, int64_t KV, k::RopeSpec spec) {
  const k::AttentionDims d = dims_of(qkv, H, KV);
  spec.head_dim = d.Dh;
  const auto table = k::make_rope_table<float>(spec, d.T);
  auto q16 = to_bf16(qkv.value());
  k::rope_qkv_forward_bf16(q16.data(), d, table);
  const Shape shape = qkv.shape();
  return record("rope_qkv", from_bf16(q16, shape), {qkv}, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(DType::f32);
    std::vector<bf16> dx16(static_cast<size_t>(g.numel()));
    k::rope_qkv_backward_prepare_bf16(dx16.data(), nullptr, g.data<float>(), d, &table);
    return Grads{from_bf16(dx16, shape)};
  });
}

// ---- causal attention with bf16 matmuls (probabilities and score gradients rounded to bf16) ----
// Three roundings: the probabilities (forward, and recomputed from the row statistics in the fused
// backward) and the score gradients; each error enters a sum over keys or queries.
// The backward keeps the workspace and the saved bf16 copies alive (the forward's probabilities are there).

Var attention_bf16(const Var& qkv, int64_t H, int64_t KV) {
  const k::AttentionDims d = dims_of(qkv, H, KV);
  const Tensor x = dense(qkv, DType::f32);
  // as the transformer sizes it: 32 elements of slack past the end (the fused kernels' last vector)
  auto workspace = std::make_shared<std::vector<bf16>>(k::attention_workspace_bytes(d) / 2 + 32);
  k::AttentionMatmul mm;
  mm.bf16 = true;
  mm.workspace = workspace->data();
  auto saved = std::make_shared<std::vector<bf16>>(k::attention_saved_elements(d) + 32);
  mm.saved = saved->data();
  Tensor out = Tensor::empty({d.B, d.T, d.H * d.Dh}), probs = Tensor::empty({d.B, d.H, d.T, d.T});
  k::attention_forward<float>(out.data<float>(), probs.data<float>(), x.data<float>(), d, mm);
  return record("fused_causal_attention", out, {qkv}, [=, keep_saved = saved, keep_workspace = workspace](const Tensor& g_in) {
    const Tensor g = g_in.to(DType::f32);
    Tensor dqkv = Tensor::empty(x.shape()), dprobs = Tensor::empty({d.B, d.H, d.T, d.T});
    k::attention_backward<float>(dqkv.data<float>(), dprobs.data<float>(), g.data<float>(), probs.data<float>(),
                                 x.data<float>(), d, mm);
    return Grads{dqkv};
  });
}

// ---- the KV-cache decode step (kernels/attention.h) ----
// Decoding positions 0..T-1 one at a time over a growing cache computes causal attention. The forward here
// is the decode kernel's; the backward is the full attention's (attention_backward), so finite differences
// of the decode outputs are checked against the attention gradients. qkv: [1, T, (H + 2 KV) Dh], no RoPE.

template <class T>
Tensor decode_all(const Tensor& qkv, const k::AttentionDims& d) {
  const int64_t W = (d.H + 2 * d.KV) * d.Dh;
  std::vector<T> kc(static_cast<size_t>(d.KV * d.T * d.Dh)), vc(kc.size());
  Tensor out = Tensor::empty({1, d.T, d.H * d.Dh}, dtype_of<T>::value);
  const T* x = qkv.data<T>();
  for (int64_t t = 0; t < d.T; ++t) {
    const T* row = x + t * W;
    for (int64_t h = 0; h < d.KV; ++h)
      for (int64_t i = 0; i < d.Dh; ++i) {
        kc[(h * d.T + t) * d.Dh + i] = row[(d.H + h) * d.Dh + i];
        vc[(h * d.T + t) * d.Dh + i] = row[(d.H + d.KV + h) * d.Dh + i];
      }
    k::attention_decode<T>(out.data<T>() + t * d.H * d.Dh, row, kc.data(), vc.data(), d.H, d.KV, d.Dh, d.T, t);
  }
  return out;
}

template <class T>
Var decode_typed(const Var& qkv, const k::AttentionDims& d) {
  const DType dt = dtype_of<T>::value;
  const Tensor x = dense(qkv, dt);
  return record("attention_decode", decode_all<T>(x, d), {qkv}, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dt);
    Tensor out = Tensor::empty({1, d.T, d.H * d.Dh}, dt), probs = Tensor::empty({1, d.H, d.T, d.T}, dt);
    k::attention_forward<T>(out.data<T>(), probs.data<T>(), x.data<T>(), d);  // the probabilities it saves
    Tensor dqkv = Tensor::empty(x.shape(), dt), dprobs = Tensor::empty({1, d.H, d.T, d.T}, dt);
    k::attention_backward<T>(dqkv.data<T>(), dprobs.data<T>(), g.data<T>(), probs.data<T>(), x.data<T>(), d);
    return Grads{dqkv};
  });
}

Var attention_decode(const Var& qkv, int64_t H, int64_t KV) {
  const k::AttentionDims d = dims_of(qkv, H, KV);
  return compute_type(qkv) == DType::f64 ? decode_typed<double>(qkv, d) : decode_typed<float>(qkv, d);
}

// ---- learned position table (kernels/position_encoding.h): y [B, T, C] = x + table[:T] ----

template <class T>
Var add_position_typed(const Var& x, const Var& table) {
  const DType dt = dtype_of<T>::value;
  const int64_t B = x.size(0), Tn = x.size(1), C = x.size(2);
  Tensor y = dense(x, dt).clone();
  k::add_position_forward<T>(y.data<T>(), dense(table, dt).data<T>(), B, Tn, C);
  const Shape table_shape = table.shape();
  return record("add_position", y, {x, table}, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dt);
    Tensor dt_grad = Tensor::zeros(table_shape, dt);
    k::add_position_backward<T>(dt_grad.data<T>(), g.data<T>(), B, Tn, C);
    return Grads{g, dt_grad};
  });
}

Var add_position(const VarList& in) {
  return compute_type(in[0]) == DType::f64 ? add_position_typed<double>(in[0], in[1])
                                           : add_position_typed<float>(in[0], in[1]);
}

// ---- the trainer's fused cross-entropy (softmax, mean loss and its gradient in one pass) ----

template <class T>
Var fused_cross_entropy_typed(const Var& logits, const std::vector<int32_t>& targets) {
  const DType dt = dtype_of<T>::value;
  const int64_t N = logits.size(0), V = logits.size(1);
  Tensor dlogits = Tensor::empty({N, V}, dt);
  const double loss =
      k::cross_entropy_forward_backward<T>(dlogits.data<T>(), dense(logits, dt).data<T>(), targets.data(), N, V);
  return record("cross_entropy_fused", Tensor::full({}, loss, dt), {logits},
                [=](const Tensor& g) { return Grads{k::mul_scalar(dlogits, g.item())}; });
}

Var fused_cross_entropy(const Var& logits, const std::vector<int32_t>& targets) {
  return compute_type(logits) == DType::f64 ? fused_cross_entropy_typed<double>(logits, targets)
                                            : fused_cross_entropy_typed<float>(logits, targets);
}

}  // namespace

void register_kernel_gradchecks(GradcheckRegistry& r) {
  // The backward kernels that the autograd ops (registered in their own files) run.
  for (const char* op : {"neg", "exp", "log", "sqrt", "rsqrt", "square", "abs", "sin", "cos", "tanh", "sigmoid", "relu"})
    r.add_kernels(op, {"unary_backward"});
  for (const char* op : {"gelu_erf", "gelu_tanh", "silu"}) r.add_kernels(op, {"unary_backward", "activation_backward"});
  r.add_kernels("clamp", {"clamp_backward"});
  r.add_kernels("leaky_relu", {"leaky_relu_backward"});
  r.add_kernels("gated_activation", {"gated_backward"});
  r.add_kernels("softmax", {"softmax_backward"});
  r.add_kernels("log_softmax", {"log_softmax_backward"});
  r.add_kernels("cross_entropy", {"cross_entropy_rows_backward"});
  r.add_kernels("embedding", {"embedding_backward"});
  r.add_kernels("layer_norm", {"layernorm_backward"});
  r.add_kernels("rms_norm", {"rmsnorm_backward"});
  r.add_kernels("fused_causal_attention", {"attention_backward", "rope_qkv_backward"});
  r.add_kernels("conv2d", {"conv2d_backward_data_f32", "conv2d_backward_weights_f32"});
  r.add_kernels("max_pool2d", {"max_pool2d_backward"});
  r.add_kernels("avg_pool2d", {"avg_pool2d_backward"});
  r.add_kernels("upsample_nearest2d", {"upsample_nearest2d_backward"});

  using A = k::Activation;
  r.add(GradcheckCase{"linear_kernel", "f32 and f64", {{{3, 4}, {5, 4}, {5}}, {{1, 7}, {2, 7}, {2}}, {{6, 16}, {3, 16}, {3}}},
                      linear_kernel}
            .with_kernels({"linear_backward", "linear_backward_bf16"})
            .with_bf16([](const VarList& in) { return linear_kernel_bf16(in, false); }, 0));
  r.add(GradcheckCase{"linear_kernel", "prepared bf16 gradient", {{{4, 6}, {3, 6}, {3}}}, linear_kernel}
            .with_kernels({"linear_backward_bf16_prepared"})
            .with_bf16([](const VarList& in) { return linear_kernel_bf16(in, true); }, 0));
  for (A act : {A::gelu_erf, A::gelu_tanh, A::silu}) {
    const std::string name = act == A::gelu_erf ? "gelu_erf" : act == A::gelu_tanh ? "gelu_tanh" : "silu";
    r.add(GradcheckCase{name, "bf16 kernels", {{{4, 8}}, {{3, 5}}}, [act](const VarList& in) {
                          return activation_op(act, in[0]);
                        }}
              .with_kernels({"activation_backward_prepare_bf16", "activation_backward"})
              .with_bf16([act](const VarList& in) { return activation_bf16(act, in[0]); }, 1));
    r.add(GradcheckCase{"activation_saving_grad", name, {{{4, 8}}, {{37}}},
                        [act](const VarList& in) { return activation_saving_grad(act, in[0]); }}
              .with_kernels({"activation_backward_from_grad"}));
  }
  r.add(GradcheckCase{"gated_activation", "swiglu, bf16 forward", {{{3, 8}}, {{2, 2, 6}}},
                      [](const VarList& in) { return gated_activation(in[0], GatedForm::silu); }}
            .with_kernels({"gated_backward"})
            .with_bf16([](const VarList& in) { return gated_bf16_forward(in[0]); }, 1));
  r.add(GradcheckCase{"layer_norm", "bf16 kernels", {{{3, 8}, {8}, {8}}, {{2, 3, 5}, {5}, {5}}},
                      [](const VarList& in) { return layer_norm(in[0], in[1], in[2], 1e-5); }}
            .with_kernels({"layernorm_backward", "layernorm_backward_bf16"})
            .with_bf16([](const VarList& in) { return norm_bf16(false, in); }, 1));
  r.add(GradcheckCase{"rms_norm", "bf16 kernels", {{{3, 8}, {8}}, {{2, 3, 5}, {5}}},
                      [](const VarList& in) { return rms_norm(in[0], in[1], 1e-5); }}
            .with_kernels({"rmsnorm_backward", "rmsnorm_backward_bf16"})
            .with_bf16([](const VarList& in) { return norm_bf16(true, in); }, 1));

  k::RopeSpec half_split, interleaved_partial;
  interleaved_partial.layout = k::RopeLayout::interleaved;
  interleaved_partial.partial_rotary_factor = 0.5;
  r.add(GradcheckCase{"rope_qkv", "GQA, half-split", {{{2, 3, 32}}, {{1, 5, 64}}},
                      [half_split](const VarList& in) { return rope(in[0], 4, 2, half_split); }}
            .with_kernels({"rope_qkv_backward", "rope_qkv_backward_prepare_bf16"})
            .with_bf16([half_split](const VarList& in) { return rope_bf16(in[0], 4, 2, half_split); }, 1));
  r.add(GradcheckCase{"rope_qkv", "multi-query, partial interleaved", {{{1, 4, 48}}},
                      [interleaved_partial](const VarList& in) { return rope(in[0], 2, 1, interleaved_partial); }}
            .with_kernels({"rope_qkv_backward"}));

  // T and Dh multiples of 32 take the fused kernels (AVX512-BF16, and f32) where the CPU has them.
  FusedAttentionSpec plain{1, 1, false, {}};
  r.add(GradcheckCase{"fused_causal_attention", "fused tiles, bf16 matmuls", {{{1, 32, 96}}},
                      [plain](const VarList& in) { return fused_causal_attention(in[0], plain); }}
            .with_kernels({"attention_backward", "fused_attention_backward_f32", "fused_attention_backward_bf16"})
            .with_bf16([](const VarList& in) { return attention_bf16(in[0], 1, 1); }, 3));
  FusedAttentionSpec gqa{4, 2, false, {}};
  r.add(GradcheckCase{"fused_causal_attention", "GQA, bf16 matmuls (oneDNN)", {{{2, 5, 32}}, {{1, 16, 64}}},
                      [gqa](const VarList& in) { return fused_causal_attention(in[0], gqa); }}
            .with_kernels({"attention_backward", "softmax_backward_row_bf16"})
            .with_bf16([](const VarList& in) { return attention_bf16(in[0], 4, 2); }, 3));
  r.add(GradcheckCase{"attention_decode", "KV cache, GQA", {{{1, 5, 32}}, {{1, 3, 24}}},
                      [](const VarList& in) { return attention_decode(in[0], 4, 2); }}
            .with_kernels({"attention_backward"}));

  r.add(GradcheckCase{"add_position", "learned table", {{{2, 3, 4}, {3, 4}}, {{1, 2, 5}, {4, 5}}}, add_position}
            .with_kernels({"add_position_backward"}));
  const std::vector<int32_t> targets{2, 0, 4, 1};
  r.add(GradcheckCase{"cross_entropy_fused", "mean loss", {{{4, 5}}, {{4, 9}}},
                      [targets](const VarList& in) { return fused_cross_entropy(in[0], targets); }}
            .with_kernels({"cross_entropy_forward_backward"}));
}

}  // namespace rotor::autograd
