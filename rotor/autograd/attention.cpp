#include "rotor/autograd/attention.h"

#include <cmath>
#include <limits>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/softmax.h"
#include "rotor/autograd/views.h"

namespace rotor::autograd {

Tensor causal_mask(int64_t tq, int64_t tk) {
  ROTOR_CHECK(tq >= 0 && tk >= tq, "causal_mask: need Tk >= Tq, got Tq ", tq, " and Tk ", tk);
  Tensor m = Tensor::zeros({tq, tk}, DType::u8);
  uint8_t* p = m.data<uint8_t>();
  for (int64_t i = 0; i < tq; ++i)
    for (int64_t j = i + (tk - tq) + 1; j < tk; ++j) p[i * tk + j] = 1;
  return m;
}

Var scaled_dot_product_attention(const Var& q, const Var& k, const Var& v, const AttentionOptions& o) {
  ROTOR_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, "attention: q, k, v need at least 2 dims, got ",
              shape_str(q.shape()), ", ", shape_str(k.shape()), ", ", shape_str(v.shape()));
  ROTOR_CHECK(q.size(-1) == k.size(-1) && k.size(-2) == v.size(-2), "attention: q ", shape_str(q.shape()), ", k ",
              shape_str(k.shape()), " and v ", shape_str(v.shape()), " do not fit together");
  const double scale = o.scale != 0 ? o.scale : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  Var scores = mul(matmul(q, transpose(k, -1, -2)), scale);  // [..., Tq, Tk]
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (o.causal) scores = masked_fill(scores, causal_mask(q.size(-2), k.size(-2)), neg_inf);
  if (o.mask.defined()) scores = masked_fill(scores, o.mask, neg_inf);
  return matmul(softmax(scores, -1), v);
}

void register_attention_gradchecks(GradcheckRegistry& r) {
  r.add({"scaled_dot_product_attention", "causal multi-head", {{{2, 2, 4, 3}, {2, 2, 4, 3}, {2, 2, 4, 5}}},
         [](const VarList& in) { return scaled_dot_product_attention(in[0], in[1], in[2], {true, 0, Tensor()}); }});
  // the encoder of `rotor train --objective mlm`: self-attention over every position, no mask
  r.add({"scaled_dot_product_attention", "bidirectional multi-head", {{{2, 3, 5, 4}, {2, 3, 5, 4}, {2, 3, 5, 4}}},
         [](const VarList& in) { return scaled_dot_product_attention(in[0], in[1], in[2]); }});
  r.add({"scaled_dot_product_attention", "cross, padding mask, broadcast kv", {{{2, 3, 4}, {5, 4}, {5, 2}}},
         [](const VarList& in) {
           const Tensor pad = Tensor::from_vector(std::vector<int32_t>{0, 0, 0, 1, 1}, {5});
           return scaled_dot_product_attention(in[0], in[1], in[2], {false, 0.7, pad});
         }});
}

}  // namespace rotor::autograd
