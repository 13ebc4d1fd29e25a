#pragma once
// BERT's masked-LM objective on a bidirectional AutogradGpt (set_bidirectional(true)).
// Each token is chosen with probability `rate` (15%); a chosen token becomes [MASK] with probability 0.8,
// a uniformly random ordinary token (0 .. mask_id - 1) with 0.1, and stays itself with 0.1. The loss is the
// mean cross-entropy over the chosen positions only (targets elsewhere are kIgnoredTarget). When the draw
// chooses no position at all (short batches), one uniformly random position is chosen instead, so the loss
// is always defined.
#include <cstdint>

#include "rotor/autograd/losses.h"
#include "rotor/autograd/var.h"
#include "rotor/core/rng.h"
#include "rotor/core/tensor.h"

namespace rotor::models {

class AutogradGpt;

constexpr int64_t kIgnoredTarget = -100;
constexpr double kMaskRate = 0.15;  // BERT's share of chosen tokens

struct MaskedBatch {
  Tensor inputs;   // [B, T] i64: the ids with the chosen positions replaced as above
  Tensor targets;  // [B, T] i64: the original id at chosen positions, kIgnoredTarget elsewhere
};

// ids: [B, T] integer ids in [0, mask_id). mask_id is the [MASK] token (vocab - 1 by convention).
// Throws for a rate outside (0, 1) or an id outside [0, mask_id).
MaskedBatch mask_tokens(const Tensor& ids, int64_t mask_id, double rate, Rng& rng);

// Mean cross-entropy of model.forward(batch.inputs) at the chosen positions (the model must be bidirectional);
// with Reduction::sum their sum (0 when no position of the batch is chosen).
autograd::Var masked_lm_loss(const AutogradGpt& model, const MaskedBatch& batch,
                             autograd::Reduction reduction = autograd::Reduction::mean);

// The rows [first, first + count) of a masked batch (a data-parallel rank's share).
MaskedBatch masked_rows(const MaskedBatch& batch, int64_t first, int64_t count);
// The number of chosen positions (targets that are not kIgnoredTarget).
int64_t chosen_count(const MaskedBatch& batch);

}  // namespace rotor::models
