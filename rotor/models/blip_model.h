#pragma once
// BlipModel: a small BLIP (Li et al. 2022) on Fashion-MNIST images and class-name captions (issue 15 part 2),
// trained end to end with BLIP's three objectives on every batch:
//
//   ITC  the CLIP model of clip_model.h (CNN image tower, causal text transformer read at end-of-text) and
//        nn::clip_loss: symmetric InfoNCE with the learnable, clamped logit scale.
//   ITM  an image-grounded text encoder (BlipTextTransformer, bidirectional self-attention + cross-attention
//        to the image tokens) read at its first position (the [ENC]/BOS token) -> itm_head [2] logits,
//        cross-entropy against match (1) / no match (0) over B positive pairs (image i, caption i) and up
//        to 2B hard negatives mined from the batch's ITC logits (sample_hard_negatives below): for every
//        image a caption, for every caption an image.
//   LM   an image-grounded captioning decoder (BlipTextTransformer, causal self-attention +
//        cross-attention) -> head [vocab] logits, teacher-forced next-token cross-entropy over the caption's
//        tokens and its end-of-text token (padding ignored).
//   loss = ITC + ITM + LM.
//
// Image tokens: the CNN's last feature map [N, c2, 7, 7] read as 49 tokens [N, 49, c2] -> image_tokens
// Linear (c2 -> text_dim) + a learned position embedding (image_positions) -> LayerNorm (image_norm): the
// keys and values of every cross-attention. The ITM encoder and the decoder have their own weights (BLIP
// shares the encoder's cross-attention and MLP with the decoder; this model does not).
//
// Token ids of BLIP's two text transformers: [BOS, t_1 .. t_n, EOT, EOT ...] where t are the caption
// tokenizer's ids, EOT = ClipModel::end_of_text() and BOS = EOT + 1 (vocabulary EOT + 2). The encoder reads
// the whole row with the padding after the first EOT masked out of its keys; the decoder reads
// [BOS, t_1 .. t_n] and predicts [t_1 .. t_n, EOT].
//
// Parameters: "clip.*" (the CLIP model's), "image_tokens.*", "image_positions.weight", "image_norm.*",
// "fusion.*", "itm_head.*", "decoder.*", "head.*". Buffers: the CNN's BatchNorm statistics ("clip.image.bn1...").
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rotor/models/clip_model.h"
#include "rotor/nn/attention.h"

namespace rotor::models {

struct BlipConfig {
  ClipConfig clip;             // towers and ITC (loss clip); text_dim / text_heads are also the fusion width
  int64_t fusion_layers = 2;   // blocks of the image-grounded text encoder (ITM)
  int64_t decoder_layers = 2;  // blocks of the captioning decoder
  // {"model": "blip", the ClipConfig keys but "loss" and "siglip_chunk", "fusion_layers", "decoder_layers"};
  // from_json is strict.
  nlohmann::json to_json() const;
  static BlipConfig from_json(const nlohmann::json& j);
};

struct BlipTextConfig {
  int64_t vocab = 0, dim = 64, heads = 4, layers = 2, ctx = 25;
  bool causal = false;
};

// A pre-norm transformer over token ids that cross-attends to image tokens:
//   x = token(ids) + position[:T]
//   per block: x += self_attn(norm1(x)) (causal, or bidirectional with a key padding mask)
//              x += cross_attn(norm2(x), image, image)
//              x += mlp.down(gelu(mlp.up(norm3(x))))   (hidden 4 dim)
//   out = norm(x)
// Attention: nn::MultiHeadAttention (q, k, v, out with bias). Parameter names: "token.weight",
// "position.weight", "layers.L.{norm1,self_attn,norm2,cross_attn,norm3,mlp.up,mlp.down}.*", "norm.*".
class BlipTextBlocks;

class BlipTextTransformer : public nn::Module {
 public:
  BlipTextTransformer(const BlipTextConfig& config, Rng& rng, DType dtype = DType::f32);
  const BlipTextConfig& config() const { return config_; }
  // ids: [B, T] (i64), image: [B, Ti, dim], key_padding: [B, T] u8 (nonzero: not a key) or undefined
  // -> [B, T, dim]. A causal transformer ignores key_padding (later positions are never keys of earlier ones).
  Var forward(const Tensor& ids, const Var& image, const Tensor& key_padding = Tensor()) const;

 private:
  BlipTextConfig config_;
  std::shared_ptr<nn::Embedding> token_, position_;
  std::shared_ptr<BlipTextBlocks> layers_;
  std::shared_ptr<nn::LayerNorm> norm_;
};

// Token rows of a batch of captions for BLIP's text transformers (layout above): ids [N, L] with
// L = the longest caption's tokens + 2, and each caption's token count n (its EOT sits at n + 1).
struct BlipTokens {
  Tensor ids;
  std::vector<int64_t> lengths;
};

// Hard negatives from a batch's similarities sim [B, B] (row i against column j; f32): for every row i a
// column j drawn with probability softmax_j(sim_ij) restricted to the columns of another class
// (labels[j] != labels[i]; so never the positive j = i, nor a caption of the same class, which with
// class-level captions is a positive too); -1 when every column is of row i's class. One rng.uniform()
// per row that has a candidate.
std::vector<int64_t> sample_hard_negatives(const Tensor& sim, const std::vector<int64_t>& labels, Rng& rng);

// The ITM loss of pairs: cross-entropy of itm logits [P, 2] against match labels [P] (1 match, 0 not).
Var itm_loss(const Var& logits, const std::vector<int64_t>& matches);
// The captioning loss: mean next-token cross-entropy of decoder logits [B, L - 1, V] for token rows
// (BlipTokens) over each caption's n tokens and its EOT.
Var caption_loss(const Var& logits, const BlipTokens& tokens);
// The encoder's key padding mask [B, L] u8 for token rows: 1 past each caption's first EOT.
Tensor blip_key_padding(const BlipTokens& tokens);

class BlipModel : public nn::Module {
 public:
  BlipModel(const BlipConfig& config, const std::vector<text::RankedToken>& ranks, Rng& rng);
  const BlipConfig& config() const { return config_; }
  ClipModel& clip() { return *clip_; }
  const ClipModel& clip() const { return *clip_; }
  int64_t bos() const { return clip_->end_of_text() + 1; }

  BlipTokens tokenize(const std::vector<std::string>& captions) const;
  // images [N, 1, 28, 28] -> the ITC embedding [N, embed] and the image tokens [N, 49, text_dim].
  std::pair<Var, Var> encode_images(const Var& images);
  // ITM logits [P, 2] of image tokens [P, 49, dim] with token rows (P of each).
  Var itm_logits(const Var& image_tokens, const BlipTokens& tokens) const;
  // Decoder logits [P, T, vocab] of image tokens [P, 49, dim] and ids [P, T] starting with BOS.
  Var caption_logits(const Var& image_tokens, const Tensor& ids) const;

  struct Losses {
    Var total, itc, itm, lm;
    int64_t negatives = 0;  // hard negative pairs mined (<= 2B)
  };
  // The three losses of a batch (image i paired with caption i, of class labels[i]); rng draws the negatives.
  Losses losses(const Tensor& images, const std::vector<std::string>& captions, const std::vector<int64_t>& labels,
                Rng& rng);

  // Evaluation mode, no gradients, in batches:
  // P(match) of image i with caption i, [N].
  std::vector<double> match_probabilities(const Tensor& images, const std::vector<std::string>& captions);
  // Greedy captions of the images (at most ctx - 1 tokens each, stopping at EOT).
  std::vector<std::string> generate_captions(const Tensor& images);

  io::TensorMap buffers() const;
  void load_buffers(const io::TensorMap& buffers);

 private:
  BlipConfig config_;
  std::shared_ptr<ClipModel> clip_;
  std::shared_ptr<nn::Linear> image_tokens_;
  std::shared_ptr<nn::Embedding> image_positions_;
  std::shared_ptr<nn::LayerNorm> image_norm_;
  std::shared_ptr<BlipTextTransformer> fusion_, decoder_;
  std::shared_ptr<nn::Linear> itm_head_, head_;
};

}  // namespace rotor::models
