#pragma once
// Generation from a Hugging Face LLaMA checkpoint with a key/value cache. Weights are held in f32 or bf16
// (converted at load), q/k/v and gate/up fused into one matrix each; the cache is f32 or bf16.
//
// forward(ids, n) runs n tokens at positions [position(), position() + n) through each layer at once:
// n > 1 (a prompt) as batched matrix products [n, in] x [in, out] (oneDNN), n == 1 (decoding) as
// bandwidth-bound matrix-vector products (kernels/gemv.h). Either way the tokens' keys and values are
// appended to the cache, and the logits of the last token are returned.
#include <cstdint>
#include <vector>

#include "rotor/core/dtype.h"
#include "rotor/kernels/attention.h"
#include "rotor/kernels/gemv.h"
#include "rotor/models/hf_llama.h"

namespace rotor::models {

// A weight matrix [rows, cols] in the generator's weight dtype: row-major (one of the two vectors is
// filled) for the prompt's matrix products, and packed into tiles for decoding's matrix-vector products.
struct GeneratorMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> f32;
  std::vector<bf16> b16;
  kernels::GemvMatrix packed;
};

class HfLlamaGenerator {
 public:
  // ctx: the most positions the cache holds (<= max_position_embeddings unless the RoPE scaling allows
  // more, as in the logits path). weight_dtype and kv_dtype: f32 or bf16.
  HfLlamaGenerator(const HfLlamaModel& model, int64_t ctx, DType weight_dtype, DType kv_dtype);

  // ids: [n] token ids; returns the [vocab] logits after the last of them (valid until the next call).
  const float* forward(const int32_t* ids, int64_t n);
  int64_t position() const { return pos_; }
  int64_t context() const { return ctx_; }
  int64_t vocab() const { return config_.vocab_size; }
  void reset() { pos_ = 0; }

 private:
  struct Layer {
    std::vector<float> input_norm, post_attention_norm;  // [hidden]
    GeneratorMatrix qkv;                                 // [(H + 2 KV) Dh, hidden]: rows [q | k | v]
    GeneratorMatrix o;                                   // [hidden, H Dh]
    GeneratorMatrix gate_up;                             // [2 I, hidden]: rows [gate | up]
    GeneratorMatrix down;                                // [hidden, I]
  };
  // out: [n, m.rows] = in [n, m.cols] x m^T; in16 is scratch for the bf16 copy of in.
  void matmul(float* out, const float* in, int64_t n, const GeneratorMatrix& m);
  // att: [n, H Dh] for queries q of rows t at positions pos_ + t, against cache layer l.
  void attend(float* att, const float* qkv, int64_t n, int64_t l);
  void append_kv(const float* qkv, int64_t n, int64_t l);

  HfLlamaConfig config_;
  int64_t ctx_ = 0, pos_ = 0;
  DType weight_dtype_, kv_dtype_;
  std::vector<float> embed_;  // [vocab, hidden] f32 (rows are copied out, never multiplied)
  std::vector<Layer> layers_;
  std::vector<float> final_norm_;
  GeneratorMatrix head_;      // [vocab, hidden]
  kernels::RopeTable<float> rope_;
  std::vector<float> k_cache_, v_cache_;  // [L, KV, ctx, Dh] when kv_dtype is f32
  std::vector<bf16> k_cache16_, v_cache16_;  // the same in bf16
  // scratch for n rows
  std::vector<float> x_, h_, qkv_, att_, tmp_, fc_, act_, rstd_, logits_;
  std::vector<bf16> in16_;
};

}  // namespace rotor::models
