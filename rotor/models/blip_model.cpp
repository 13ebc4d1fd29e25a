#include "rotor/models/blip_model.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/models/vision_model.h"
#include "rotor/nn/contrastive.h"
#include "rotor/nn/margin.h"
#include "rotor/text/unicode_class.h"

namespace rotor::models {

namespace ag = rotor::autograd;

namespace {

constexpr int64_t kImageTokens = 49;  // the CNN's 7 x 7 feature map
constexpr int64_t kEvalChunk = 250;
const std::vector<std::string> kBlipKeys = {"fusion_layers", "decoder_layers"};

}  // namespace

nlohmann::json BlipConfig::to_json() const {
  nlohmann::json j = clip.to_json();
  j.erase("loss");
  j.erase("siglip_chunk");
  j["model"] = "blip";
  j["fusion_layers"] = fusion_layers;
  j["decoder_layers"] = decoder_layers;
  return j;
}

BlipConfig BlipConfig::from_json(const nlohmann::json& j) {
  ROTOR_CHECK(j.is_object(), "blip: the config must be a JSON object, got ", j.dump());
  if (j.contains("model"))
    ROTOR_CHECK(j["model"] == "blip", "blip: config names model ", j["model"].dump(), ", not \"blip\"");
  ROTOR_CHECK(!j.contains("loss") && !j.contains("siglip_chunk"),
              "blip: \"loss\" and \"siglip_chunk\" do not apply (BLIP's contrastive loss is clip's)");
  nlohmann::json towers = j;
  towers.erase("model");
  for (const std::string& k : kBlipKeys) towers.erase(k);
  BlipConfig c;
  try {
    c.clip = ClipConfig::from_json(towers);
  } catch (const Error& e) {  // the towers' messages, naming this model
    const std::string what = e.what();
    throw Error(what.rfind("clip: ", 0) == 0 ? "blip: " + what.substr(6) : what);
  }
  c.fusion_layers = config_int(j, "blip", "fusion_layers", c.fusion_layers, 1, 64);
  c.decoder_layers = config_int(j, "blip", "decoder_layers", c.decoder_layers, 1, 64);
  return c;
}

// ---------------------------------------------------------------------------------- text transformer

// One pre-norm block: self-attention, cross-attention to the image tokens, MLP.
class BlipTextBlock : public nn::Module {
 public:
  BlipTextBlock(const BlipTextConfig& c, Rng& rng, DType dtype) : causal_(c.causal) {
    norm1_ = add_module("norm1", std::make_shared<nn::LayerNorm>(c.dim, 1e-5, true, true, dtype));
    self_attn_ = add_module("self_attn", std::make_shared<nn::MultiHeadAttention>(c.dim, c.heads, true, rng, dtype));
    norm2_ = add_module("norm2", std::make_shared<nn::LayerNorm>(c.dim, 1e-5, true, true, dtype));
    cross_attn_ = add_module("cross_attn", std::make_shared<nn::MultiHeadAttention>(c.dim, c.heads, true, rng, dtype));
    norm3_ = add_module("norm3", std::make_shared<nn::LayerNorm>(c.dim, 1e-5, true, true, dtype));
    mlp_ = add_module("mlp", std::make_shared<Mlp>(c.dim, rng, dtype));
  }

  // x: [B, T, dim], image: [B, Ti, dim] -> [B, T, dim]
  Var forward(const Var& x, const Var& image, const Tensor& key_padding) const {
    const Var u = norm1_->forward(x);
    Var h = ag::add(x, self_attn_->forward(u, u, u, causal_, key_padding));
    h = ag::add(h, cross_attn_->forward(norm2_->forward(h), image, image));
    return ag::add(h, mlp_->forward(norm3_->forward(h)));
  }

 private:
  class Mlp : public nn::Module {  // down(gelu(up(x))), hidden 4 dim
   public:
    Mlp(int64_t dim, Rng& rng, DType dtype)
        : up_(add_module("up", std::make_shared<nn::Linear>(dim, 4 * dim, true, rng, dtype))),
          down_(add_module("down", std::make_shared<nn::Linear>(4 * dim, dim, true, rng, dtype))) {}
    Var forward(const Var& x) const { return down_->forward(ag::gelu(up_->forward(x), ag::GeluForm::erf)); }

   private:
    std::shared_ptr<nn::Linear> up_, down_;
  };
  bool causal_;
  std::shared_ptr<nn::LayerNorm> norm1_, norm2_, norm3_;
  std::shared_ptr<nn::MultiHeadAttention> self_attn_, cross_attn_;
  std::shared_ptr<Mlp> mlp_;
};

// The blocks in order, named "0", "1", ...
class BlipTextBlocks : public nn::Module {
 public:
  BlipTextBlocks(const BlipTextConfig& c, Rng& rng, DType dtype) {
    for (int64_t l = 0; l < c.layers; ++l)
      blocks_.push_back(add_module(std::to_string(l), std::make_shared<BlipTextBlock>(c, rng, dtype)));
  }
  Var forward(Var x, const Var& image, const Tensor& key_padding) const {
    for (const auto& block : blocks_) x = block->forward(x, image, key_padding);
    return x;
  }

 private:
  std::vector<std::shared_ptr<BlipTextBlock>> blocks_;
};

BlipTextTransformer::BlipTextTransformer(const BlipTextConfig& c, Rng& rng, DType dtype) : config_(c) {
  ROTOR_CHECK(c.vocab >= 2 && c.ctx >= 2 && c.layers >= 1 && c.heads >= 1 && c.dim % c.heads == 0,
              "blip: text transformer needs vocab, ctx >= 2, layers >= 1 and dim ", c.dim, " divisible by ", c.heads,
              " heads");
  token_ = add_module("token", std::make_shared<nn::Embedding>(c.vocab, c.dim, rng, 0.02, dtype));
  position_ = add_module("position", std::make_shared<nn::Embedding>(c.ctx, c.dim, rng, 0.02, dtype));
  layers_ = add_module("layers", std::make_shared<BlipTextBlocks>(c, rng, dtype));
  norm_ = add_module("norm", std::make_shared<nn::LayerNorm>(c.dim, 1e-5, true, true, dtype));
}

Var BlipTextTransformer::forward(const Tensor& ids, const Var& image, const Tensor& key_padding) const {
  ROTOR_CHECK(ids.dim() == 2 && ids.size(1) >= 1 && ids.size(1) <= config_.ctx, "blip: ids must be [B, T] with 1 <= T <= ",
              config_.ctx, ", got ", shape_str(ids.shape()));
  ROTOR_CHECK(image.dim() == 3 && image.size(0) == ids.size(0) && image.size(2) == config_.dim, "blip: image tokens ",
              shape_str(image.shape()), " do not fit ids ", shape_str(ids.shape()), " at width ", config_.dim);
  const Var x = ag::add(token_->forward(ids), ag::slice(position_->weight(), 0, 0, ids.size(1)));  // [B, T, dim]
  return norm_->forward(layers_->forward(x, image, config_.causal ? Tensor() : key_padding));
}

// ---------------------------------------------------------------------------------- losses and mining

std::vector<int64_t> sample_hard_negatives(const Tensor& sim, const std::vector<int64_t>& labels, Rng& rng) {
  ROTOR_CHECK(sim.dim() == 2 && sim.size(0) == sim.size(1) && sim.size(0) == static_cast<int64_t>(labels.size()) &&
                  sim.dtype() == DType::f32,
              "blip: hard negatives need an f32 [B, B] similarity matrix for B labels, got ", shape_str(sim.shape()),
              " and ", labels.size(), " labels");
  const Tensor s = sim.contiguous();
  const float* p = s.data<float>();
  const int64_t n = sim.size(0);
  std::vector<int64_t> out(static_cast<size_t>(n), -1);
  std::vector<double> weight(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double top = -INFINITY;
    for (int64_t j = 0; j < n; ++j)
      if (labels[static_cast<size_t>(j)] != labels[static_cast<size_t>(i)]) top = std::max(top, double(p[i * n + j]));
    if (top == -INFINITY) continue;  // every column is of row i's class
    double total = 0;
    for (int64_t j = 0; j < n; ++j) {
      const bool other = labels[static_cast<size_t>(j)] != labels[static_cast<size_t>(i)];
      weight[static_cast<size_t>(j)] = other ? std::exp(double(p[i * n + j]) - top) : 0.0;
      total += weight[static_cast<size_t>(j)];
    }
    ROTOR_CHECK(std::isfinite(total), "blip: non-finite similarity in row ", i, " of the hard-negative mining");
    double u = rng.uniform() * total;
    int64_t pick = -1;
    for (int64_t j = 0; j < n; ++j) {
      if (weight[static_cast<size_t>(j)] == 0) continue;
      pick = j;  // the last candidate takes any rounding remainder
      u -= weight[static_cast<size_t>(j)];
      if (u < 0) break;
    }
    out[static_cast<size_t>(i)] = pick;
  }
  return out;
}

Var itm_loss(const Var& logits, const std::vector<int64_t>& matches) {
  ROTOR_CHECK(logits.dim() == 2 && logits.size(1) == 2 && logits.size(0) == static_cast<int64_t>(matches.size()),
              "blip: itm logits ", shape_str(logits.shape()), " for ", matches.size(), " pairs");
  return ag::cross_entropy(logits, Tensor::from_vector(matches, {static_cast<int64_t>(matches.size())}));
}

Var caption_loss(const Var& logits, const BlipTokens& tokens) {
  const int64_t B = tokens.ids.size(0), L = tokens.ids.size(1);
  ROTOR_CHECK(logits.dim() == 3 && logits.size(0) == B && logits.size(1) == L - 1, "blip: decoder logits ",
              shape_str(logits.shape()), " for token rows ", shape_str(tokens.ids.shape()));
  const int64_t* ids = tokens.ids.data<int64_t>();
  std::vector<int64_t> targets(static_cast<size_t>(B * (L - 1)), -100);
  for (int64_t b = 0; b < B; ++b)  // position p predicts ids[p + 1]: the n tokens and the EOT at n + 1
    for (int64_t p = 0; p <= tokens.lengths[static_cast<size_t>(b)]; ++p)
      targets[static_cast<size_t>(b * (L - 1) + p)] = ids[b * L + p + 1];
  return ag::cross_entropy(logits, Tensor::from_vector(targets, {B, L - 1}));
}

Tensor blip_key_padding(const BlipTokens& tokens) {
  const int64_t B = tokens.ids.size(0), L = tokens.ids.size(1);
  Tensor mask = Tensor::zeros({B, L}, DType::u8);
  uint8_t* m = mask.data<uint8_t>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t p = tokens.lengths[static_cast<size_t>(b)] + 2; p < L; ++p) m[b * L + p] = 1;
  return mask;
}

namespace {

// The rows of token rows, in the given order.
BlipTokens select_rows(const BlipTokens& t, const std::vector<int64_t>& rows) {
  const int64_t L = t.ids.size(1);
  const int64_t* ids = t.ids.data<int64_t>();
  std::vector<int64_t> out;
  BlipTokens s;
  for (int64_t r : rows) {
    out.insert(out.end(), ids + r * L, ids + (r + 1) * L);
    s.lengths.push_back(t.lengths[static_cast<size_t>(r)]);
  }
  s.ids = Tensor::from_vector(out, {static_cast<int64_t>(rows.size()), L});
  return s;
}

Tensor index_tensor(const std::vector<int64_t>& rows) {
  return Tensor::from_vector(rows, {static_cast<int64_t>(rows.size())});
}

}  // namespace

// ---------------------------------------------------------------------------------- the model

BlipModel::BlipModel(const BlipConfig& config, const std::vector<text::RankedToken>& ranks, Rng& rng) : config_(config) {
  ROTOR_CHECK(config.clip.loss == ContrastiveLoss::clip, "blip: the contrastive loss is clip's");
  clip_ = add_module("clip", std::make_shared<ClipModel>(config.clip, ranks, rng));
  const int64_t dim = config.clip.text_dim;
  image_tokens_ = add_module("image_tokens", std::make_shared<nn::Linear>(config.clip.image.channels2, dim, true, rng));
  image_positions_ = add_module("image_positions", std::make_shared<nn::Embedding>(kImageTokens, dim, rng, 0.02));
  image_norm_ = add_module("image_norm", std::make_shared<nn::LayerNorm>(dim));
  BlipTextConfig t;
  t.vocab = bos() + 1, t.dim = dim, t.heads = config.clip.text_heads, t.ctx = config.clip.ctx + 1;
  t.layers = config.fusion_layers, t.causal = false;
  fusion_ = add_module("fusion", std::make_shared<BlipTextTransformer>(t, rng));
  itm_head_ = add_module("itm_head", std::make_shared<nn::Linear>(dim, 2, true, rng));
  t.layers = config.decoder_layers, t.causal = true;
  decoder_ = add_module("decoder", std::make_shared<BlipTextTransformer>(t, rng));
  head_ = add_module("head", std::make_shared<nn::Linear>(dim, t.vocab, true, rng));
}

BlipTokens BlipModel::tokenize(const std::vector<std::string>& captions) const {
  std::vector<int64_t> eot;
  const Tensor clip_ids = clip_->tokenize(captions, eot);  // [N, ctx]: t_1 .. t_n, EOT ...
  const int64_t n = clip_ids.size(0), ctx = clip_ids.size(1);
  const int64_t L = *std::max_element(eot.begin(), eot.end()) + 2;
  const int64_t* c = clip_ids.data<int64_t>();
  std::vector<int64_t> ids(static_cast<size_t>(n * L), clip_->end_of_text());
  for (int64_t i = 0; i < n; ++i) {
    ids[static_cast<size_t>(i * L)] = bos();
    for (int64_t p = 0; p < eot[static_cast<size_t>(i)]; ++p) ids[static_cast<size_t>(i * L + p + 1)] = c[i * ctx + p];
  }
  return {Tensor::from_vector(ids, {n, L}), eot};
}

std::pair<Var, Var> BlipModel::encode_images(const Var& images) {
  auto [embed, map] = clip_->encode_images_and_map(images);  // map: [N, c2, 7, 7]
  const int64_t n = map.size(0), c2 = map.size(1);
  const Var grid = ag::transpose(ag::reshape(map, {n, c2, kImageTokens}), 1, 2);  // [N, 49, c2]
  const Var tokens = ag::add(image_tokens_->forward(grid), image_positions_->weight());
  return {embed, image_norm_->forward(tokens)};
}

Var BlipModel::itm_logits(const Var& image_tokens, const BlipTokens& tokens) const {
  const Var h = fusion_->forward(tokens.ids, image_tokens, blip_key_padding(tokens));  // [P, L, dim]
  return itm_head_->forward(ag::select(h, 1, 0));
}

Var BlipModel::caption_logits(const Var& image_tokens, const Tensor& ids) const {
  return head_->forward(decoder_->forward(ids, image_tokens));
}

BlipModel::Losses BlipModel::losses(const Tensor& images, const std::vector<std::string>& captions,
                                    const std::vector<int64_t>& labels, Rng& rng) {
  const int64_t B = images.size(0);
  ROTOR_CHECK(B == static_cast<int64_t>(captions.size()) && B == static_cast<int64_t>(labels.size()), "blip: ", B,
              " images, ", captions.size(), " captions and ", labels.size(), " labels");
  Losses out;
  const auto [image_embed, image_tokens] = encode_images(Var(images));
  const Var text_embed = clip_->encode_text(captions);
  out.itc = nn::clip_loss(image_embed, text_embed, clip_->log_scale());

  // ITM: positives, then each image's mined caption, then each caption's mined image.
  Tensor sim;
  {
    ag::NoGradGuard no_grad;
    const double scale = std::exp(std::min(clip_->log_scale().item(), nn::kClipMaxLogScale));
    sim = ag::mul(ag::matmul(nn::l2_normalize(image_embed.detach()),
                             ag::transpose(nn::l2_normalize(text_embed.detach()), 0, 1)), scale).value().contiguous();
  }
  const std::vector<int64_t> caption_for_image = sample_hard_negatives(sim, labels, rng);
  const std::vector<int64_t> image_for_caption =
      sample_hard_negatives(ag::transpose(Var(sim), 0, 1).value().contiguous(), labels, rng);
  std::vector<int64_t> image_rows, caption_rows, matches;
  for (int64_t i = 0; i < B; ++i) image_rows.push_back(i), caption_rows.push_back(i), matches.push_back(1);
  for (int64_t i = 0; i < B; ++i)
    if (caption_for_image[static_cast<size_t>(i)] >= 0)
      image_rows.push_back(i), caption_rows.push_back(caption_for_image[static_cast<size_t>(i)]), matches.push_back(0);
  for (int64_t j = 0; j < B; ++j)
    if (image_for_caption[static_cast<size_t>(j)] >= 0)
      image_rows.push_back(image_for_caption[static_cast<size_t>(j)]), caption_rows.push_back(j), matches.push_back(0);
  out.negatives = static_cast<int64_t>(matches.size()) - B;
  const BlipTokens tokens = tokenize(captions);
  const Var pair_images = ag::index_select(image_tokens, 0, index_tensor(image_rows));
  out.itm = itm_loss(itm_logits(pair_images, select_rows(tokens, caption_rows)), matches);

  // LM: teacher forcing on the positive pairs.
  const int64_t L = tokens.ids.size(1);
  out.lm = caption_loss(caption_logits(image_tokens, tokens.ids.narrow(1, 0, L - 1).contiguous()), tokens);
  out.total = ag::add(ag::add(out.itc, out.itm), out.lm);
  return out;
}

namespace {

// The text with every byte that is not part of valid UTF-8 replaced by U+FFFD (byte-level tokens decoded
// one by one can split a character).
std::string valid_utf8(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    const size_t bad = text::find_invalid_utf8(text);
    out.append(text.substr(0, bad));
    if (bad == text.size()) break;
    out += "\xEF\xBF\xBD";
    text.remove_prefix(bad + 1);
  }
  return out;
}

// Runs f in evaluation mode without gradients, restoring the mode after.
template <class F>
void evaluating(nn::Module& m, const F& f) {
  const bool was_training = m.is_training();
  m.eval();
  ag::NoGradGuard no_grad;
  f();
  m.train(was_training);
}

}  // namespace

std::vector<double> BlipModel::match_probabilities(const Tensor& images, const std::vector<std::string>& captions) {
  const int64_t n = images.size(0);
  ROTOR_CHECK(n == static_cast<int64_t>(captions.size()), "blip: ", n, " images but ", captions.size(), " captions");
  std::vector<double> out;
  evaluating(*this, [&] {
    for (int64_t b = 0; b < n; b += kEvalChunk) {
      const int64_t m = std::min(kEvalChunk, n - b);
      const Var tokens = encode_images(Var(images.narrow(0, b, m).contiguous())).second;
      const std::vector<std::string> part(captions.begin() + b, captions.begin() + b + m);
      const Tensor p = ag::softmax(itm_logits(tokens, tokenize(part)), -1).value().contiguous();
      for (int64_t i = 0; i < m; ++i) out.push_back(p.data<float>()[i * 2 + 1]);
    }
  });
  return out;
}

std::vector<std::string> BlipModel::generate_captions(const Tensor& images) {
  const int64_t n = images.size(0), eot = clip_->end_of_text(), vocab = bos() + 1;
  const int64_t max_tokens = config_.clip.ctx - 1;
  std::vector<std::string> out;
  evaluating(*this, [&] {
    for (int64_t b = 0; b < n; b += kEvalChunk) {
      const int64_t m = std::min(kEvalChunk, n - b);
      const Var tokens = encode_images(Var(images.narrow(0, b, m).contiguous())).second;
      std::vector<std::vector<int64_t>> rows(static_cast<size_t>(m), std::vector<int64_t>{bos()});
      std::vector<bool> done(static_cast<size_t>(m), false);
      for (int64_t t = 1; t <= max_tokens && std::find(done.begin(), done.end(), false) != done.end(); ++t) {
        std::vector<int64_t> ids;
        for (const auto& r : rows) ids.insert(ids.end(), r.begin(), r.end());
        const Tensor logits =
            ag::select(caption_logits(tokens, Tensor::from_vector(ids, {m, t})), 1, t - 1).value().contiguous();
        const float* l = logits.data<float>();
        for (int64_t i = 0; i < m; ++i) {
          int64_t best = 0;
          for (int64_t v = 1; v < vocab; ++v)
            if (v != bos() && l[i * vocab + v] > l[i * vocab + best]) best = v;
          if (done[static_cast<size_t>(i)]) best = eot;  // keeps the rows rectangular
          rows[static_cast<size_t>(i)].push_back(best);
          if (best == eot) done[static_cast<size_t>(i)] = true;
        }
      }
      for (const auto& r : rows) {
        std::vector<uint32_t> text;
        for (size_t p = 1; p < r.size() && r[p] != eot; ++p) text.push_back(static_cast<uint32_t>(r[p]));
        out.push_back(valid_utf8(clip_->decode(text)));
      }
    }
  });
  return out;
}

io::TensorMap BlipModel::buffers() const { return with_prefix("clip", clip_->buffers()); }

void BlipModel::load_buffers(const io::TensorMap& buffers) { clip_->load_buffers(without_prefix("blip", "clip", buffers)); }

}  // namespace rotor::models
