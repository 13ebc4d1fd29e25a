#pragma once
// AutogradGpt: the decoder-only transformer of rotor/models/transformer.h (same architecture, same
// parameter names and layouts) built from autograd ops and nn modules instead of hand-fused kernels, so
// it trains with backward() and the optim classes. Its logits and gradients equal the fused model's
// (tests/models/autograd_gpt_test.cpp); bench/autograd_bench.sh times it against PyTorch.
//
// Per block:  x = x + out(fused_causal_attention(qkv(norm1(x))))   (RoPE inside the attention op)
//             x = x + down(act(up(norm2(x))))                       (gated: act(gate) * up, one up matrix)
// logits = head(norm_f(x)) (head = wte when tied).
// Supported: layernorm / rmsnorm, gelu / gelu_tanh / swiglu / geglu MLPs, RoPE / learned / sinusoidal /
// no positions, grouped-query attention, biases on or off, a tied head. RoPE context scaling other than
// none is rejected (the fused op builds its table for the batch's length).
#include <memory>
#include <vector>

#include "rotor/models/transformer.h"
#include "rotor/models/transformer_config.h"
#include "rotor/nn/layers.h"

namespace rotor::models {

class AutogradGptBlock;

class AutogradGpt : public nn::Module {
 public:
  // Parameters start as zeros (norm weights as ones); copy real ones in with load_from() or
  // load_state_dict().
  explicit AutogradGpt(const TransformerConfig& config);
  const TransformerConfig& config() const { return config_; }

  // ids: [B, T] (i64 or i32), T <= ctx -> logits [B, T, vocab].
  autograd::Var forward(const Tensor& ids) const;
  // The mean next-token cross-entropy of forward(ids) against targets [B, T].
  autograd::Var loss(const Tensor& ids, const Tensor& targets) const;

  // Copy the fused model's parameters in (same names and shapes).
  void load_from(const Transformer& fused);
  // Parameters that get weight decay in the fused trainer (matrices and embeddings) and the rest.
  std::vector<autograd::Var> decayed_parameters() const;
  std::vector<autograd::Var> undecayed_parameters() const;

 private:
  TransformerConfig config_;
  autograd::Var wte_, wpe_;
  Tensor sinusoid_;  // [ctx, dim] for sinusoidal positions
  std::vector<std::shared_ptr<AutogradGptBlock>> blocks_;
  std::shared_ptr<nn::Module> norm_f_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace rotor::models
