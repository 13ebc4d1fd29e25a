#pragma once
// ClipModel: a two-tower image-text model trained with CLIP's or SigLIP's contrastive loss (issue 15 part 1,
// losses in rotor/nn/contrastive.h) on Fashion-MNIST images and class-name captions (clip_captions.h).
//
//   image tower: FashionCnn's features (conv-BN-ReLU-pool x2, fc + ReLU) [N, hidden] -> image_proj [N, embed]
//   text tower:  byte-level BPE tokens (a tokenizer trained on the 240 captions, tiktoken's cl100k split
//                pattern) + an end-of-text token, padded with end-of-text to ctx; rotor's causal transformer
//                (AutogradGpt, RoPE, pre-norm, tied head unused) -> the final-norm feature at the first
//                end-of-text position [N, dim] (as CLIP reads its EOT token) -> text_proj [N, embed]
//   loss:        clip_loss(image, text, log_scale) or siglip_loss(..., log_scale, bias), chunked over text
//                columns when siglip_chunk > 0 (same loss and gradients, no B x B matrix)
// Parameters: "image.*", "image_proj.weight", "text.*", "text_proj.weight", "log_scale" [1] and, for SigLIP,
// "bias" [1], initialised as the papers say (log(1/0.07); log 10 and -10). Buffers: the CNN's BatchNorm
// statistics ("image.bn1.running_mean", ...).
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rotor/io/safetensors.h"
#include "rotor/models/autograd_gpt.h"
#include "rotor/models/fashion_cnn.h"
#include "rotor/text/byte_pair_encoding.h"

namespace rotor::models {

enum class ContrastiveLoss { clip, siglip };
ContrastiveLoss contrastive_loss_from_name(const std::string& name);  // "clip" or "siglip", else rotor::Error
const char* contrastive_loss_name(ContrastiveLoss loss);

struct ClipConfig {
  ContrastiveLoss loss = ContrastiveLoss::clip;
  int64_t embed = 64;        // shared embedding size
  FashionCnnConfig image;    // the image tower (its fc2 classifier layer exists but is unused)
  int64_t text_layers = 2, text_dim = 64, text_heads = 4, ctx = 24;
  int64_t bpe_vocab = 512;   // tokenizer size, the 256 bytes included (the end-of-text token is extra)
  int64_t siglip_chunk = 0;  // SigLIP: text columns per block (0: unchunked)
  // {"model": "clip", "loss": ..., ...}; from_json is strict (unknown keys, out-of-range values throw).
  nlohmann::json to_json() const;
  static ClipConfig from_json(const nlohmann::json& j);
};

// The caption tokenizer: byte-level BPE trained on all_captions() up to bpe_vocab tokens (deterministic).
std::vector<text::RankedToken> train_caption_tokenizer(int64_t bpe_vocab);

class ClipModel : public nn::Module {
 public:
  // Towers initialised from rng (CNN and projections PyTorch-style, the transformer GPT-2 style).
  ClipModel(const ClipConfig& config, const std::vector<text::RankedToken>& ranks, Rng& rng);
  const ClipConfig& config() const { return config_; }
  const std::vector<text::RankedToken>& ranks() const { return ranks_; }
  int64_t end_of_text() const { return eot_; }  // the id after the tokenizer's, appended to every caption
  std::string decode(std::span<const uint32_t> ids) const { return bpe_->decode(ids); }

  // Token ids [N, ctx] (i64) and each caption's end-of-text position; a caption longer than ctx - 1
  // tokens throws naming it.
  Tensor tokenize(const std::vector<std::string>& captions, std::vector<int64_t>& eot_positions) const;
  Var encode_images(const Var& images);                       // [N, 1, 28, 28] -> [N, embed]
  // The same embedding and the CNN's last feature map [N, c2, 7, 7] of one forward pass (BLIP).
  std::pair<Var, Var> encode_images_and_map(const Var& images);
  Var encode_text(const std::vector<std::string>& captions);  // N captions -> [N, embed]
  // The contrastive loss of a batch (image i paired with caption i).
  Var loss(const Tensor& images, const std::vector<std::string>& captions);
  // The same on given embeddings, with an explicit SigLIP chunk (0: unchunked).
  Var contrastive_loss(const Var& image_embed, const Var& text_embed, int64_t chunk) const;
  const Var& log_scale() const { return log_scale_; }
  const Var& bias() const { return bias_; }  // undefined for CLIP

  // Evaluation mode, no gradients, in batches: L2-normalised embeddings [N, embed].
  Tensor image_embeddings(const Tensor& images);
  Tensor text_embeddings(const std::vector<std::string>& captions);

  io::TensorMap buffers() const;
  void load_buffers(const io::TensorMap& buffers);

 private:
  ClipConfig config_;
  std::vector<text::RankedToken> ranks_;
  std::unique_ptr<text::BytePairEncoding> bpe_;
  int64_t eot_ = 0;
  std::shared_ptr<FashionCnn> image_;
  std::shared_ptr<AutogradGpt> text_;
  std::shared_ptr<nn::Linear> image_proj_, text_proj_;
  Var log_scale_, bias_;
};

}  // namespace rotor::models
