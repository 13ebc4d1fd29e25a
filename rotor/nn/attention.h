#pragma once
// Multi-head attention module (BERT/CLIP/ViT style): separate q, k, v, out projections with bias,
// heads split from the model width, optional causal mask and key padding mask.
#include <memory>

#include "rotor/autograd/attention.h"
#include "rotor/nn/layers.h"

namespace rotor::nn {

class MultiHeadAttention : public Module {
 public:
  // Parameters: q.weight/bias, k.*, v.* ([dim, dim], [dim]) and out.* .
  MultiHeadAttention(int64_t dim, int64_t heads, bool bias, Rng& rng, DType dtype = DType::f32);
  // query: [B, Tq, dim], key/value: [B, Tk, dim] -> [B, Tq, dim].
  // key_padding_mask: [B, Tk] (nonzero = ignore that key) or undefined.
  Var forward(const Var& query, const Var& key, const Var& value, bool causal = false,
              const Tensor& key_padding_mask = Tensor()) const;
  // Self-attention shorthand.
  Var forward(const Var& x, bool causal = false) const { return forward(x, x, x, causal); }

 private:
  std::shared_ptr<Linear> q_, k_, v_, out_;
  int64_t heads_;
};

}  // namespace rotor::nn
