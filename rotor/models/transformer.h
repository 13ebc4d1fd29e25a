#pragma once
// Transformer: rotor's decoder-only language model, llm.c style. All parameters live in one
// contiguous f32 buffer (gradients in a second one of the same layout, so optimizers and clipping
// run over flat arrays); all activations of a (batch, length) shape live in one arena allocated once
// by reserve(). Each layer calls the *_forward / *_backward kernels of rotor/kernels.
//
// Per block:  x += out_proj(attention(rope(qkv_proj(norm1(x)))));  x += down_proj(act(up_proj(norm2(x))))
// then logits = head(norm_f(x)).
//
// Precision::bf16 keeps f32 master weights and f32 activations; the matmuls read bf16 copies of
// weights and activations (AVX512-BF16) and accumulate in f32.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rotor/core/dtype.h"
#include "rotor/core/phase_profile.h"
#include "rotor/core/rng.h"
#include "rotor/core/tensor.h"
#include "rotor/kernels/attention.h"
#include "rotor/kernels/layernorm.h"
#include "rotor/models/transformer_config.h"

namespace rotor::models {

enum class Precision { f32, bf16 };
Precision precision_from_name(const std::string& s);  // "f32" or "bf16"

// One named parameter tensor inside the flat buffer.
struct ParameterInfo {
  std::string name;     // e.g. "layers.0.attn.qkv.weight"
  Shape shape;
  int64_t offset = 0;   // in floats, into params()/grads()
  int64_t numel = 0;
  bool decay = false;   // matrices and embeddings get weight decay; biases and norm weights do not
};

class Transformer {
 public:
  explicit Transformer(const TransformerConfig& config);
  ~Transformer();
  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  const TransformerConfig& config() const { return config_; }
  const std::vector<ParameterInfo>& parameters() const { return infos_; }
  const ParameterInfo& parameter(const std::string& name) const;  // throws for an unknown name
  int64_t num_parameters() const { return static_cast<int64_t>(params_.size()); }
  // Mutable access to the parameters marks their bf16 copy stale (see weights16()).
  float* params() {
    weights16_current_ = false;
    return params_.data();
  }
  const float* params() const { return params_.data(); }
  float* grads() { return grads_.data(); }
  const float* grads() const { return grads_.data(); }

  // gpt2: N(0, 0.02) matrices and embeddings, residual output projections N(0, 0.02/sqrt(2L)), zero
  //       biases, unit norm weights (llm.c / GPT-2).
  // torch: PyTorch's module defaults: embeddings N(0, 1), linear weights and biases U(-1/sqrt(fan_in),
  //        1/sqrt(fan_in)), unit norm weights, zero norm biases (what the PyTorch peer trains from).
  enum class Init { gpt2, torch };
  void init_parameters(Rng& rng, Init scheme = Init::gpt2);
  void zero_grad();

  void set_precision(Precision p) { precision_ = p; }
  // Activation checkpointing: with every = K > 0 the arena keeps the residual stream entering every K-th
  // block (and the last block's output) and one segment of K blocks' activations; backward recomputes
  // each earlier segment's forward from its saved input just before going through it. The gradients are
  // bitwise those without checkpointing (the recomputation runs the same kernels on the same values);
  // memory drops to about K/L of the per-block activations, compute grows by up to one forward pass.
  // 0 (the default) keeps everything.
  void set_checkpoint_every(int64_t every);
  int64_t checkpoint_every() const { return checkpoint_every_; }
  // Called inside forward_backward() as ranges of grads() become final, (offset, count) in floats: each
  // block's parameters right after its backward, then the rest (embeddings, final norm, head) at the end;
  // together they cover every gradient once. Data-parallel training starts their allreduce there, while
  // the backward pass goes on below. Empty (the default): not called.
  void set_gradient_ready_hook(std::function<void(int64_t offset, int64_t count)> hook) { ready_hook_ = std::move(hook); }
  // The bf16 copy of the parameters that bf16 matmuls read (same offsets as params()). An optimizer that
  // writes it along with the parameters calls mark_weights16_current() afterwards, and the next forward
  // pass skips its conversion (a forward that converts leaves the copy current as well); any later
  // params() access makes the copy stale again, so fetch params() again before writing through it.
  bf16* weights16() {
    params16_.resize(params_.size());
    return params16_.data();
  }
  void mark_weights16_current() { weights16_current_ = true; }
  // Time per phase of forward/backward (disabled by default; `rotor train --profile`).
  PhaseProfile& profile() { return profile_; }
  Precision precision() const { return precision_; }

  // Allocate the activation arena for batches of up to B sequences of up to T tokens (T <= ctx).
  void reserve(int64_t B, int64_t T);

  // ids, targets: [B, T] token ids. Computes logits [B, T, vocab] (see logits()) and, when targets is
  // not null, returns the mean cross-entropy (NaN otherwise).
  double forward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T);
  // Forward, loss and the full backward pass; ADDS the gradients into grads(). Returns the mean loss.
  double forward_backward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T);
  // [B, T, vocab] logits of the last forward() (forward_backward overwrites them with their gradient).
  const float* logits() const;

  // KV-cache generation: feed one token at a time (positions 0, 1, ...), get the next-token logits.
  class Decoder {
   public:
    explicit Decoder(const Transformer& model);
    const float* step(int32_t token);  // [vocab] logits for the position after `token`
    int64_t position() const { return pos_; }
    void reset() { pos_ = 0; }

   private:
    const Transformer& m_;
    int64_t pos_ = 0;
    std::vector<float> k_cache_, v_cache_;  // [L, KV, ctx, Dh]
    std::vector<float> x_, h_, qkv_, q_, att_, tmp_, fc_, act_, logits_, mean_, rstd_;
  };

 private:
  // Offsets (in floats) of one block's parameters inside params()/grads(); -1 when absent.
  struct LayerParams {
    int64_t norm1_w, norm1_b, qkv_w, qkv_b, out_w, out_b, norm2_w, norm2_b, up_w, up_b, down_w, down_b;
  };
  struct Activations;
  LayerParams layer(int64_t l) const;
  const float* param(const std::string& name) const;
  void forward_impl(const int32_t* ids, int64_t B, int64_t T);
  // Block l's forward on the arena; `from_saved_input` normalises res[l] as it is (the first block, or the
  // first of a recomputed segment) instead of forming it from the previous block's outputs.
  void layer_forward(int64_t l, int64_t B, int64_t T, bool from_saved_input);
  void backward_impl(const int32_t* ids, int64_t B, int64_t T);
  // writes out (f32 precision) or out16 (bf16 precision: the output only feeds a bf16 matmul)
  // With residual, normalizes inp + residual and writes that sum to sum_out (fused residual connection).
  void norm_forward(float* out, bf16* out16, float* mean, float* rstd, const float* inp, const float* w,
                    const float* b, int64_t N, const float* residual = nullptr, float* sum_out = nullptr) const;
  // With dout16 the output gradient is read in bf16 from there (dout unused); `next` (bf16 only) also
  // prepares the finished dinp as a linear layer's output gradient (kernels/layernorm.h).
  void norm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                     const float* mean, const float* rstd, int64_t N, const bf16* dout16 = nullptr,
                     const kernels::PreparedGradient* next = nullptr) const;
  void matmul_forward(float* out, const float* inp, const bf16* inp16, const float* w, const float* b, int64_t N,
                      int64_t IN, int64_t OUT);
  // dinp is overwritten (=); parameter gradients are added. In bf16 precision dout is prepared into the
  // dout_16 scratch (with the bias gradient) unless dout_is_prepared says that was done. With dinp16
  // (bf16 precision, dinp null) the input gradient is written in bf16 there instead.
  void matmul_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const bf16* inp16,
                       const float* w, int64_t N, int64_t IN, int64_t OUT, bool dout_is_prepared = false,
                       bf16* dinp16 = nullptr);

  TransformerConfig config_;
  Precision precision_ = Precision::f32;
  int64_t checkpoint_every_ = 0;
  std::function<void(int64_t, int64_t)> ready_hook_;
  std::vector<ParameterInfo> infos_;
  std::vector<float> params_, grads_;
  std::vector<bf16> params16_;  // bf16 copy of params_, refreshed at each bf16 forward unless current
  bool weights16_current_ = false;
  kernels::RopeTable<float> rope_;
  std::vector<float> sinusoid_;  // [ctx, dim] when pos == sinusoidal
  std::unique_ptr<Activations> acts_;
  PhaseProfile profile_;
  template <class Fn>
  void timed(const char* phase, Fn&& fn) {
    auto scope = profile_.time(phase);
    fn();
  }
};

}  // namespace rotor::models
