#include "rotor/models/clip_model.h"

#include <map>
#include <string_view>

#include "rotor/autograd/indexing.h"
#include "rotor/autograd/views.h"
#include "rotor/core/error.h"
#include "rotor/models/clip_captions.h"
#include "rotor/models/transformer.h"
#include "rotor/models/vision_model.h"
#include "rotor/nn/contrastive.h"
#include "rotor/nn/margin.h"
#include "rotor/text/bpe_trainer.h"

namespace rotor::models {

ContrastiveLoss contrastive_loss_from_name(const std::string& name) {
  if (name == "clip") return ContrastiveLoss::clip;
  if (name == "siglip") return ContrastiveLoss::siglip;
  throw Error(cat("clip: unknown loss '", name, "' (want clip or siglip)"));
}

const char* contrastive_loss_name(ContrastiveLoss loss) { return loss == ContrastiveLoss::clip ? "clip" : "siglip"; }

nlohmann::json ClipConfig::to_json() const {
  nlohmann::json img = image.to_json();
  img.erase("model");
  return {{"model", "clip"},         {"loss", contrastive_loss_name(loss)}, {"embed", embed},
          {"image", img},            {"text_layers", text_layers},        {"text_dim", text_dim},
          {"text_heads", text_heads}, {"ctx", ctx},                        {"bpe_vocab", bpe_vocab},
          {"siglip_chunk", siglip_chunk}};
}

ClipConfig ClipConfig::from_json(const nlohmann::json& j) {
  ROTOR_CHECK(j.is_object(), "clip: the config must be a JSON object, got ", j.dump());
  check_config_keys(j, "clip", {"model", "loss", "embed", "image", "text_layers", "text_dim", "text_heads", "ctx",
                                "bpe_vocab", "siglip_chunk"});
  ClipConfig c;
  if (j.contains("model"))
    ROTOR_CHECK(j["model"] == "clip", "clip: config names model ", j["model"].dump(), ", not \"clip\"");
  if (j.contains("loss")) {
    ROTOR_CHECK(j["loss"].is_string(), "clip: \"loss\" must be a string, got ", j["loss"].dump());
    c.loss = contrastive_loss_from_name(j["loss"].get<std::string>());
  }
  c.embed = config_int(j, "clip", "embed", c.embed, 1, 4096);
  if (j.contains("image")) c.image = FashionCnnConfig::from_json(j["image"]);
  c.text_layers = config_int(j, "clip", "text_layers", c.text_layers, 1, 64);
  c.text_dim = config_int(j, "clip", "text_dim", c.text_dim, 2, 4096);
  c.text_heads = config_int(j, "clip", "text_heads", c.text_heads, 1, 64);
  c.ctx = config_int(j, "clip", "ctx", c.ctx, 2, 1024);
  c.bpe_vocab = config_int(j, "clip", "bpe_vocab", c.bpe_vocab, 256, 65536);
  c.siglip_chunk = config_int(j, "clip", "siglip_chunk", c.siglip_chunk, 0, 1 << 20);
  ROTOR_CHECK(c.text_dim % c.text_heads == 0 && (c.text_dim / c.text_heads) % 2 == 0, "clip: text_dim ", c.text_dim,
              " must split into ", c.text_heads, " heads of an even width (RoPE)");
  ROTOR_CHECK(c.siglip_chunk == 0 || c.loss == ContrastiveLoss::siglip, "clip: siglip_chunk applies to the siglip loss only");
  return c;
}

std::vector<text::RankedToken> train_caption_tokenizer(int64_t bpe_vocab) {
  const std::vector<std::string> captions = all_captions();
  const std::vector<std::string_view> views(captions.begin(), captions.end());
  text::BpeTrainOptions o;
  o.vocab_size = static_cast<size_t>(bpe_vocab);
  o.pattern = text::SplitPattern::kCl100k;
  o.min_frequency = 2;
  return text::train_bpe(text::count_pieces(views, o.pattern, 1), o);
}

ClipModel::ClipModel(const ClipConfig& config, const std::vector<text::RankedToken>& ranks, Rng& rng)
    : config_(config), ranks_(ranks) {
  ROTOR_CHECK(!ranks_.empty(), "clip: empty tokenizer");
  bpe_ = std::make_unique<text::BytePairEncoding>("clip-captions", ranks_, text::SplitPattern::kCl100k,
                                                  std::vector<text::SpecialToken>{});
  eot_ = static_cast<int64_t>(bpe_->vocab_size());
  image_ = add_module("image", std::make_shared<FashionCnn>(config.image, rng));
  image_proj_ = add_module("image_proj", std::make_shared<nn::Linear>(config.image.hidden, config.embed, false, rng));
  TransformerConfig t;
  t.layers = config.text_layers, t.dim = config.text_dim, t.heads = config.text_heads, t.kv_heads = config.text_heads;
  t.ctx = config.ctx, t.vocab = eot_ + 1, t.tied_head = true, t.pos = PositionKind::rope;
  t.validate();
  text_ = add_module("text", std::make_shared<AutogradGpt>(t));
  {
    Transformer fused(t);
    fused.init_parameters(rng);
    text_->load_from(fused);
  }
  text_proj_ = add_module("text_proj", std::make_shared<nn::Linear>(config.text_dim, config.embed, false, rng));
  const bool clip = config.loss == ContrastiveLoss::clip;
  log_scale_ = add_parameter("log_scale", Tensor::from_vector(std::vector<float>{static_cast<float>(
                                              clip ? nn::kClipInitLogScale : nn::kSiglipInitLogScale)}, {1}));
  if (!clip) bias_ = add_parameter("bias", Tensor::from_vector(std::vector<float>{float(nn::kSiglipInitBias)}, {1}));
}

Tensor ClipModel::tokenize(const std::vector<std::string>& captions, std::vector<int64_t>& eot_positions) const {
  const int64_t n = static_cast<int64_t>(captions.size()), ctx = config_.ctx;
  ROTOR_CHECK(n >= 1, "clip: no captions to tokenize");
  std::vector<int64_t> ids(static_cast<size_t>(n * ctx), eot_);
  eot_positions.assign(static_cast<size_t>(n), 0);
  std::vector<uint32_t> tokens;
  for (int64_t i = 0; i < n; ++i) {
    tokens.clear();
    bpe_->encode_ordinary(captions[static_cast<size_t>(i)], tokens);
    const int64_t len = static_cast<int64_t>(tokens.size());
    ROTOR_CHECK(len >= 1 && len < ctx, "clip: caption '", captions[static_cast<size_t>(i)], "' has ", len,
                " tokens; ctx ", ctx, " holds at most ", ctx - 1, " and the end-of-text token");
    for (int64_t p = 0; p < len; ++p) ids[static_cast<size_t>(i * ctx + p)] = tokens[static_cast<size_t>(p)];
    eot_positions[static_cast<size_t>(i)] = len;
  }
  return Tensor::from_vector(ids, {n, ctx});
}

Var ClipModel::encode_images(const Var& images) { return image_proj_->forward(image_->features(images)); }

std::pair<Var, Var> ClipModel::encode_images_and_map(const Var& images) {
  Var map = image_->feature_map(images);
  return {image_proj_->forward(image_->features_of_map(map)), map};
}

Var ClipModel::encode_text(const std::vector<std::string>& captions) {
  std::vector<int64_t> eot;
  const Tensor ids = tokenize(captions, eot);
  const int64_t n = ids.size(0), ctx = ids.size(1);
  std::vector<int64_t> rows(eot.size());
  for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i * ctx + eot[static_cast<size_t>(i)];
  const Var h = autograd::reshape(text_->hidden(ids), {n * ctx, config_.text_dim});  // [N*T, dim]
  return text_proj_->forward(autograd::index_select(h, 0, Tensor::from_vector(rows, {n})));
}

Var ClipModel::contrastive_loss(const Var& image_embed, const Var& text_embed, int64_t chunk) const {
  if (config_.loss == ContrastiveLoss::clip) return nn::clip_loss(image_embed, text_embed, log_scale_);
  if (chunk > 0) return nn::siglip_loss_chunked(image_embed, text_embed, log_scale_, bias_, chunk);
  return nn::siglip_loss(image_embed, text_embed, log_scale_, bias_);
}

Var ClipModel::loss(const Tensor& images, const std::vector<std::string>& captions) {
  ROTOR_CHECK(images.size(0) == static_cast<int64_t>(captions.size()), "clip: ", images.size(0), " images but ",
              captions.size(), " captions");
  return contrastive_loss(encode_images(Var(images)), encode_text(captions), config_.siglip_chunk);
}

namespace {

constexpr int64_t kEvalChunk = 500;

// Runs `f` in evaluation mode without gradients, restoring the mode after.
template <class F>
Tensor evaluating(nn::Module& m, const F& f) {
  const bool was_training = m.is_training();
  m.eval();
  autograd::NoGradGuard no_grad;
  Tensor out = f();
  m.train(was_training);
  return out;
}

}  // namespace

Tensor ClipModel::image_embeddings(const Tensor& images) {
  return evaluating(*this, [&] {
    std::vector<Var> parts;
    for (int64_t b = 0; b < images.size(0); b += kEvalChunk) {
      const Tensor x = images.narrow(0, b, std::min(kEvalChunk, images.size(0) - b)).contiguous();
      parts.push_back(Var(nn::l2_normalize(encode_images(Var(x))).value()));
    }
    return autograd::cat(parts, 0).value().contiguous();
  });
}

Tensor ClipModel::text_embeddings(const std::vector<std::string>& captions) {
  // Distinct captions are encoded once, so identical captions get identical embeddings.
  std::map<std::string, int64_t> index;
  std::vector<std::string> distinct;
  std::vector<int64_t> rows;
  for (const std::string& c : captions) {
    auto [it, fresh] = index.emplace(c, static_cast<int64_t>(distinct.size()));
    if (fresh) distinct.push_back(c);
    rows.push_back(it->second);
  }
  return evaluating(*this, [&] {
    std::vector<Var> parts;
    for (size_t b = 0; b < distinct.size(); b += kEvalChunk) {
      const std::vector<std::string> part(distinct.begin() + static_cast<std::ptrdiff_t>(b),
                                          distinct.begin() + static_cast<std::ptrdiff_t>(std::min(b + kEvalChunk, distinct.size())));
      parts.push_back(Var(nn::l2_normalize(encode_text(part)).value()));
    }
    const Var all = autograd::cat(parts, 0);
    return autograd::index_select(all, 0, Tensor::from_vector(rows, {static_cast<int64_t>(rows.size())})).value().contiguous();
  });
}

io::TensorMap ClipModel::buffers() const { return with_prefix("image", image_->buffers()); }

void ClipModel::load_buffers(const io::TensorMap& buffers) {
  image_->load_buffers(without_prefix("clip", "image", buffers));
}

}  // namespace rotor::models
