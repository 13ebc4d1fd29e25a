#include "rotor/nn/attention.h"

#include "rotor/autograd/views.h"

namespace rotor::nn {

namespace ag = rotor::autograd;

MultiHeadAttention::MultiHeadAttention(int64_t dim, int64_t heads, bool bias, Rng& rng, DType dtype)
    : q_(add_module("q", std::make_shared<Linear>(dim, dim, bias, rng, dtype))),
      k_(add_module("k", std::make_shared<Linear>(dim, dim, bias, rng, dtype))),
      v_(add_module("v", std::make_shared<Linear>(dim, dim, bias, rng, dtype))),
      out_(add_module("out", std::make_shared<Linear>(dim, dim, bias, rng, dtype))),
      heads_(heads) {
  ROTOR_CHECK(heads > 0 && dim % heads == 0, "MultiHeadAttention: width ", dim, " is not divisible by ", heads,
              " heads");
}

Var MultiHeadAttention::forward(const Var& query, const Var& key, const Var& value, bool causal,
                                const Tensor& key_padding_mask) const {
  ROTOR_CHECK(query.dim() == 3 && key.dim() == 3 && value.dim() == 3, "MultiHeadAttention: inputs must be [B, T, dim]");
  const int64_t B = query.size(0), Tq = query.size(1), Tk = key.size(1), D = query.size(2), Dh = D / heads_;
  auto split = [&](const Var& x, int64_t T) {  // [B, T, D] -> [B, H, T, Dh]
    return ag::permute(ag::reshape(x, {B, T, heads_, Dh}), {0, 2, 1, 3});
  };
  ag::AttentionOptions o;
  o.causal = causal;
  if (key_padding_mask.defined()) {
    ROTOR_CHECK(key_padding_mask.shape() == (Shape{B, Tk}), "MultiHeadAttention: key padding mask ",
                shape_str(key_padding_mask.shape()), " should be ", shape_str({B, Tk}));
    o.mask = key_padding_mask.view({B, 1, 1, Tk});
  }
  Var heads = ag::scaled_dot_product_attention(split(q_->forward(query), Tq), split(k_->forward(key), Tk),
                                               split(v_->forward(value), Tk), o);
  return out_->forward(ag::reshape(ag::permute(heads, {0, 2, 1, 3}), {B, Tq, D}));
}

}  // namespace rotor::nn
