#pragma once
// Contrastive image-text losses over a batch of B paired embeddings (image i belongs with text i).
//
// CLIP (Radford et al. 2021): symmetric InfoNCE. With u, v the L2-normalised embeddings and the learnable
// log-scale t (initialised to log(1/0.07)), the scale exp(t) is clamped to at most 100 (t clamped to
// log 100, no gradient past the clamp), logits = exp(t) u v^T [B, B] and
//   loss = (CE(logits, arange B) + CE(logits^T, arange B)) / 2.
// SigLIP (Zhai et al. 2023): every pair is a binary problem. logits = exp(t) u v^T + b with t
// initialised to log 10 and b to -10, z_ij = 1 on the diagonal and -1 elsewhere, and
//   loss = (1 / B) sum_ij softplus(-z_ij logits_ij)   (= -(1/B) sum log sigmoid(z_ij logits_ij)).
// The chunked form sums the same terms over blocks of `chunk` text columns, each block checkpointed, so
// neither the forward nor the backward holds the whole B x B matrix (only B x chunk at a time); it equals
// the unchunked loss and gradients.
// t and b are one-element Vars ([1]); image and text embeddings [B, D].
#include <cstdint>

#include "rotor/autograd/var.h"

namespace rotor::nn {

constexpr double kClipInitLogScale = 2.659260036932778;  // log(1 / 0.07)
constexpr double kClipMaxLogScale = 4.605170185988092;   // log(100)
constexpr double kSiglipInitLogScale = 2.302585092994046;  // log(10)
constexpr double kSiglipInitBias = -10.0;

autograd::Var clip_loss(const autograd::Var& image, const autograd::Var& text, const autograd::Var& log_scale);
autograd::Var siglip_loss(const autograd::Var& image, const autograd::Var& text, const autograd::Var& log_scale,
                          const autograd::Var& bias);
autograd::Var siglip_loss_chunked(const autograd::Var& image, const autograd::Var& text,
                                  const autograd::Var& log_scale, const autograd::Var& bias, int64_t chunk);

}  // namespace rotor::nn
