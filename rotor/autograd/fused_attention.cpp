#include "rotor/autograd/fused_attention.h"

#include <cstring>

#include "rotor/autograd/gradcheck.h"
#include "rotor/kernels/attention.h"

namespace rotor::autograd {

namespace k = rotor::kernels;

namespace {

template <class T>
Var fused_attention_typed(const Var& qkv, const k::AttentionDims& d, const FusedAttentionSpec& spec) {
  k::RopeSpec rope_spec = spec.rope_spec;
  rope_spec.head_dim = d.Dh;
  const bool rope = spec.rope;
  const auto table = rope ? k::make_rope_table<T>(rope_spec, d.T) : k::RopeTable<T>{};
  // The kernel rotates q and k in place, so work on a private copy; it is saved for the backward.
  Tensor rotated = qkv.value().to(dtype_of<T>::value);
  if (rotated.shares_storage(qkv.value())) rotated = rotated.clone();
  if (rope) k::rope_qkv_forward<T>(rotated.data<T>(), d, table);
  Tensor out = Tensor::empty({d.B, d.T, d.H * d.Dh}, dtype_of<T>::value);
  Tensor probs = Tensor::empty({d.B, d.H, d.T, d.T}, dtype_of<T>::value);
  k::attention_forward<T>(out.data<T>(), probs.data<T>(), rotated.data<T>(), d);
  const Shape qkv_shape = qkv.shape();
  return record("fused_causal_attention", out, {qkv}, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dtype_of<T>::value);
    Tensor dqkv = Tensor::zeros(qkv_shape, dtype_of<T>::value);
    Tensor dprobs = Tensor::empty({d.B, d.H, d.T, d.T}, dtype_of<T>::value);
    k::attention_backward<T>(dqkv.data<T>(), dprobs.data<T>(), g.data<T>(), probs.data<T>(), rotated.data<T>(), d);
    if (rope) k::rope_qkv_backward<T>(dqkv.data<T>(), d, table);
    return std::vector<Tensor>{dqkv};
  });
}

}  // namespace

Var fused_causal_attention(const Var& qkv, const FusedAttentionSpec& spec) {
  ROTOR_CHECK(qkv.dim() == 3, "fused_causal_attention: qkv must be [B, T, (H + 2 KV) Dh], got ", shape_str(qkv.shape()));
  ROTOR_CHECK(spec.heads > 0 && spec.kv_heads > 0 && qkv.size(2) % (spec.heads + 2 * spec.kv_heads) == 0,
              "fused_causal_attention: width ", qkv.size(2), " is not (", spec.heads, " + 2 x ", spec.kv_heads,
              ") heads times a head dimension");
  k::AttentionDims d;
  d.B = qkv.size(0);
  d.T = qkv.size(1);
  d.H = spec.heads;
  d.KV = spec.kv_heads;
  d.Dh = qkv.size(2) / (spec.heads + 2 * spec.kv_heads);
  k::check_attention_dims(d);
  if (qkv.dtype() == DType::f64) return fused_attention_typed<double>(qkv, d, spec);
  return fused_attention_typed<float>(qkv, d, spec);
}

void register_fused_attention_gradchecks(GradcheckRegistry& r) {
  FusedAttentionSpec gqa_rope{4, 2, true, {}};
  r.add({"fused_causal_attention", "GQA with RoPE", {{{2, 5, 32}}},
         [gqa_rope](const VarList& in) { return fused_causal_attention(in[0], gqa_rope); }});
  FusedAttentionSpec mq_partial{2, 1, true, {}};
  mq_partial.rope_spec.layout = k::RopeLayout::interleaved;
  mq_partial.rope_spec.partial_rotary_factor = 0.5;
  r.add({"fused_causal_attention", "multi-query, partial interleaved RoPE", {{{1, 4, 32}}},
         [mq_partial](const VarList& in) { return fused_causal_attention(in[0], mq_partial); }});
  FusedAttentionSpec plain{2, 2, false, {}};
  r.add({"fused_causal_attention", "multi-head, no RoPE", {{{1, 3, 18}}},
         [plain](const VarList& in) { return fused_causal_attention(in[0], plain); }});
}

}  // namespace rotor::autograd
