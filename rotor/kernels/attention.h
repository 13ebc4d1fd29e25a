#pragma once
// Causal multi-head self-attention with grouped-query attention (H query heads share KV key/value
// heads, H % KV == 0), rotary position embedding fused into the q/k/v split, forward and backward
// over raw buffers, plus a single-token decode step over a KV cache.
//
// The training path materializes the [T, T] probabilities per head (they are reused by the backward
// pass); its matmuls go through oneDNN, batched over (batch, kv head) with the G = H/KV query heads of
// a group stacked as rows, so GQA needs no copies of K and V. Instantiated for float and double; the
// float path can run its matmuls in bf16 (f32 accumulation).
// Backward kernels ADD into their gradient buffers (see layernorm.h).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rotor/core/dtype.h"
#include "rotor/kernels/rope_frequencies.h"

namespace rotor::kernels {

struct AttentionDims {
  int64_t B = 1, T = 1;   // batch, sequence length
  int64_t H = 1, KV = 1;  // query heads, key/value heads
  int64_t Dh = 1;         // head dimension
  int64_t group() const { return H / KV; }
  int64_t qkv_width() const { return (H + 2 * KV) * Dh; }
};
void check_attention_dims(const AttentionDims& d);  // throws rotor::Error naming the bad value

// cos/sin of every (position, pair) for positions [0, max_T), already multiplied by the attention factor.
template <class T>
struct RopeTable {
  int64_t max_T = 0, head_dim = 0, rotary_dim = 0;
  RopeLayout layout = RopeLayout::half_split;
  std::vector<T> cos, sin;  // [max_T, rotary_dim / 2]
};
template <class T> RopeTable<T> make_rope_table(const RopeSpec& spec, int64_t max_T);

// Rotates `heads` consecutive head vectors x: [heads, head_dim] at position pos (inverse: by -angle,
// which is the transpose used by the backward pass). Channels past rotary_dim pass through.
template <class T> void rope_rotate(T* x, int64_t heads, int64_t pos, const RopeTable<T>& rope, bool inverse);

// The fused projection output qkv: [B, T, (H + 2 KV) Dh] holds [q heads | k heads | v heads] per
// row; attention reads q, k and v from it in place (strided), with no split or transposition copies.

// Rotates the q and k heads of qkv in place by their position (v is untouched).
template <class T> void rope_qkv_forward(T* qkv, const AttentionDims& d, const RopeTable<T>& rope);
// The backward of rope_qkv_forward: turns d(rotated qkv) into d(qkv) in place (rotation by -angle).
template <class T> void rope_qkv_backward(T* dqkv, const AttentionDims& d, const RopeTable<T>& rope);

// bf16 training: rope_qkv_forward on a bf16 qkv, in place (rotation in f32, then rounded).
// qkv16: [B, T, (H + 2 KV) Dh].
void rope_qkv_forward_bf16(bf16* qkv16, const AttentionDims& d, const RopeTable<float>& rope);
// bf16 training: rope_qkv_backward fused with the preparation of the qkv projection's output gradient:
// dqkv16 = bf16(rotated-back dqkv), dbias [(H + 2 KV) Dh] += its column sums (may be null); dqkv is not
// modified. The same for any thread count.
void rope_qkv_backward_prepare_bf16(bf16* dqkv16, float* dbias, const float* dqkv, const AttentionDims& d,
                                    const RopeTable<float>* rope);

// How the attention matmuls run. For bf16, `workspace` must hold attention_workspace_bytes(d) bytes.
// `saved` (optional, bf16 only) holds attention_saved_elements(d) values: the forward pass leaves its
// bf16 copies of qkv and probs (on the fused AVX512-BF16 path: two softmax statistics per query row, from
// which the backward recomputes the probabilities) there and the backward pass reuses them.
struct AttentionMatmul {
  bool bf16 = false;
  void* workspace = nullptr;
  rotor::bf16* saved = nullptr;
  // The bf16 qkv (at the start of `saved`, else of `workspace`) was already written by
  // rope_qkv_forward_bf16: the forward pass does not convert (or read) the f32 qkv.
  bool qkv16_ready = false;
  // Forward only (bf16): deliver the output in bf16 here ([B, T, H Dh]); `out` is then scratch (the
  // fused path does not write it).
  rotor::bf16* out16 = nullptr;
  // Backward only: the output gradient already in bf16 ([B, T, H Dh]); the f32 dout is then not read.
  const rotor::bf16* dout16 = nullptr;
  // Backward only: also deliver d(qkv) as rope_qkv_backward_prepare_bf16 would (rotated back by `rope`
  // when not null, in bf16 into dqkv16, column sums added into dqkv_bias when not null). dqkv is then
  // scratch (the fused path does not write it).
  rotor::bf16* dqkv16 = nullptr;
  float* dqkv_bias = nullptr;
  const RopeTable<float>* rope = nullptr;
};
size_t attention_workspace_bytes(const AttentionDims& d);
int64_t attention_saved_elements(const AttentionDims& d);

// Causal softmax(q k^T / sqrt(Dh)) v, blocked over query tiles so that key blocks entirely in the
// future of a tile are never computed.
// out: [B, T, H Dh] (heads merged, ready for the output projection); probs: [B, H, T, T] saved for
// backward (row t is valid up to the end of its query tile; later entries are unspecified). With bf16
// matmuls the probabilities are kept only in bf16 (in mm.saved, else at the start of mm.workspace, which
// must then be left alone until the backward) and probs is only scratch for one tile's f32 scores.
template <class T>
void attention_forward(T* out, T* probs, const T* qkv, const AttentionDims& d, const AttentionMatmul& mm = {});
// dqkv: [B, T, (H + 2 KV) Dh] (written, =); dout: [B, T, H Dh]; dprobs: [B, H, T, T] scratch (overwritten; with
// bf16 matmuls the scores' gradient goes to the bf16 workspace instead and probs is not read).
template <class T>
void attention_backward(T* dqkv, T* dprobs, const T* dout, const T* probs, const T* qkv, const AttentionDims& d,
                        const AttentionMatmul& mm = {});

// One decoding step with a KV cache: the query of position pos attends to cached positions [0, pos]
// with a single-pass online softmax. q: [H, Dh] (already rotated); k_cache, v_cache: [KV, max_T, Dh];
// out: [H Dh].
template <class T>
void attention_decode(T* out, const T* q, const T* k_cache, const T* v_cache, int64_t H, int64_t KV, int64_t Dh,
                      int64_t max_T, int64_t pos);

}  // namespace rotor::kernels
