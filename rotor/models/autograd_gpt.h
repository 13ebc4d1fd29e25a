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
//
// Token mixers (MixerSpec, `rotor train --mixer NAME`): every block's attention can be replaced by one of
// the rotor/nn mixers, under the parameter prefix "layers.L.mixer.":
//   x = x + mixer(norm1(x));  x = x + down(act(up(norm2(x))))
//   softmax: the attention above (the default; the fused model's architecture and parameter names)
//   rnn / lstm / gru: one-layer nn::Recurrent, hidden = dim          linear: nn::LinearAttention (RoPE when
//   performer: nn::Performer (M features, W a buffer)                 --pos rope), heads from config.heads
//   flash: nn::FlashAttention (e = 2 dim, s = min(128, dim), n = ctx) local / strided / fixed:
//   s4d: out(gelu(nn::S4D(x))), N states                               nn::SparseAttention, heads as above
//   mamba: nn::MambaBlock (d_state N)
// Positions: rope / learned / sinusoidal / none, and for the softmax mixer T5's bucketed relative bias
// (parameter "rel_bias.weight" [32, heads], shared by the layers) or ALiBi: those run attention as
// nn::biased_causal_attention on q, k, v split from attn.qkv (kv_heads == heads), decoded with a KV cache.
// RoPE applies to softmax and linear only; the recurrent and state-space mixers are position-aware by
// themselves. Decoder runs the mixers' step() (constant memory, or the pattern's cache).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rotor/io/checkpoint.h"
#include "rotor/models/transformer.h"
#include "rotor/models/transformer_config.h"
#include "rotor/nn/layers.h"
#include "rotor/nn/relative_positions.h"

namespace rotor::models {

class AutogradGptBlock;
struct AutogradGptBlockState;

enum class MixerKind { softmax, rnn, lstm, gru, linear, performer, flash, local, strided, fixed, s4d, mamba };
MixerKind mixer_kind_from_name(const std::string& name);  // "softmax" (also "attention"), "rnn", ...
const char* mixer_kind_name(MixerKind kind);
const char* mixer_kind_names();  // "softmax, rnn, lstm, ..." for messages

struct MixerSpec {
  MixerKind kind = MixerKind::softmax;
  int64_t features = 64;  // performer: random features per head (M)
  int64_t redraw = 0;     // performer: draw new features every this many training steps (0: never)
  int64_t window = 32;    // local: window W; strided, fixed: the stride / block length l (rotor train: sqrt(ctx))
  int64_t summary = 1;    // fixed: summary columns c per block (1 <= c <= l)
  int64_t state = 16;     // s4d, mamba: state size N
  int64_t chunk = 64;     // linear, performer, flash, mamba: chunk length of the parallel form
  // Throws naming the option when a value is out of range for this context length.
  void validate(int64_t ctx) const;
};
nlohmann::json mixer_to_json(const MixerSpec& m);  // only the settings the kind uses
MixerSpec mixer_from_json(const nlohmann::json& j, const std::string& where);

class AutogradGpt : public nn::Module {
 public:
  // Parameters start as zeros (norm weights as ones); copy real ones in with load_from() or
  // load_state_dict().
  explicit AutogradGpt(const TransformerConfig& config);
  // With a mixer other than softmax its own parameters are initialised from `rng` (PyTorch-style, as the
  // nn modules do) and the rest start as zeros (norm weights ones) until load_from() / init_from().
  AutogradGpt(const TransformerConfig& config, const MixerSpec& mixer, Rng& rng);
  ~AutogradGpt() override;
  const TransformerConfig& config() const { return config_; }
  const MixerSpec& mixer() const { return mixer_; }
  // Activation checkpointing: forward() runs each segment of `every` blocks as one autograd::checkpoint
  // node, which keeps only the segment's input and recomputes the blocks in backward (0: off, default).
  void set_checkpoint_every(int64_t every);
  // Bidirectional encoder (BERT): softmax attention without the causal mask, so every position sees every
  // other. Softmax mixer only, with learned / sinusoidal / no positions and kv_heads == heads; throws
  // otherwise. Saved as "encoder": true in config.json; has no Decoder.
  void set_bidirectional(bool on);
  bool bidirectional() const { return bidirectional_; }

  // ids: [B, T] (i64 or i32), T <= ctx -> logits [B, T, vocab].
  autograd::Var forward(const Tensor& ids) const;
  // The final-norm output before the head: [B, T, dim] (what a classifier on top of the encoder reads).
  autograd::Var hidden(const Tensor& ids) const;
  // The mean next-token cross-entropy of forward(ids) against targets [B, T].
  autograd::Var loss(const Tensor& ids, const Tensor& targets) const;

  // Copy the fused model's parameters in (same names and shapes).
  void load_from(const Transformer& fused);
  // Copy the fused model's parameters whose names this model has (embeddings, norms, MLPs, head); the
  // mixers keep theirs.
  void init_from(const Transformer& fused);
  // Tensors that are not parameters but part of the model (Performer's feature matrices), by name
  // ("layers.L.mixer.projection"); saved next to the parameters.
  std::map<std::string, Tensor> buffers() const;
  void load_buffers(const std::map<std::string, Tensor>& buffers);  // every buffer, with its shape
  // Performer: new random features in every block (from rng); a no-op for other mixers.
  void redraw(Rng& rng);
  // Parameters that get weight decay in the fused trainer (matrices and embeddings) and the rest.
  std::vector<autograd::Var> decayed_parameters() const;
  std::vector<autograd::Var> undecayed_parameters() const;

  // Single-token decoding through the mixers' step() (no gradients). Throws for the softmax mixer (the
  // fused model's Transformer::Decoder decodes that one).
  class Decoder {
   public:
    explicit Decoder(const AutogradGpt& model);
    ~Decoder();
    const float* step(int32_t token);  // [vocab] logits for the position after `token`
    int64_t position() const { return pos_; }
    void reset();

   private:
    const AutogradGpt& m_;
    int64_t pos_ = 0;
    std::vector<std::unique_ptr<AutogradGptBlockState>> states_;
    std::vector<float> logits_;
  };

 private:
  void build(Rng& rng);
  // [H, tq, tk] relative position bias for queries at offset.. (t5, alibi), undefined otherwise.
  autograd::Var position_bias(int64_t tq, int64_t tk, int64_t offset) const;
  TransformerConfig config_;
  MixerSpec mixer_;
  int64_t checkpoint_every_ = 0;
  bool bidirectional_ = false;
  autograd::Var wte_, wpe_;
  Tensor sinusoid_;  // [ctx, dim] for sinusoidal positions
  std::vector<std::shared_ptr<AutogradGptBlock>> blocks_;
  std::shared_ptr<nn::Module> norm_f_;
  std::shared_ptr<nn::Linear> head_;
  std::shared_ptr<nn::T5RelativeBias> rel_bias_;
};

// A run directory of a mixer model (`rotor train --mixer NAME` other than softmax): config.json holds the
// TransformerConfig's keys plus "mixer": {"kind": NAME, ...settings}; model.safetensors the parameters and
// buffers by name (f32). A bidirectional encoder (`rotor train --objective mlm`) adds "encoder": true.
bool is_mixer_run(const std::string& dir);  // config.json parses and has a "mixer" object
nlohmann::json autograd_gpt_config(const AutogradGpt& model);  // config.json's contents
// The run directory as one checkpoint of rotor/io/checkpoint.h (no optimizer state; step 0 unless the
// caller sets it), and saving it as a unit.
io::Checkpoint autograd_gpt_checkpoint(const AutogradGpt& model);
void save_autograd_gpt(const AutogradGpt& model, const std::string& dir);
// Every parameter and buffer must be present with its shape, no extras.
std::unique_ptr<AutogradGpt> load_autograd_gpt(const std::string& dir);
// config.json of such a run taken apart (`where` names it in errors).
struct MixerRunConfig {
  TransformerConfig config;
  MixerSpec mixer;
  bool bidirectional = false;
};
MixerRunConfig mixer_run_config(nlohmann::json config, const std::string& where);
// Copies a run's model.safetensors tensors (parameters and buffers by name; all of them, no extras) in.
void load_autograd_gpt_tensors(AutogradGpt& model, io::TensorMap tensors, const std::string& where);

}  // namespace rotor::models
