#include "rotor/models/masked_lm.h"

#include <vector>

#include "rotor/autograd/losses.h"
#include "rotor/core/error.h"
#include "rotor/models/autograd_gpt.h"

namespace rotor::models {

MaskedBatch mask_tokens(const Tensor& ids, int64_t mask_id, double rate, Rng& rng) {
  ROTOR_CHECK(ids.dim() == 2, "masked lm: ids must be [B, T], got ", shape_str(ids.shape()));
  ROTOR_CHECK(rate > 0 && rate < 1, "masked lm: mask rate ", rate, " must be in (0, 1)");
  ROTOR_CHECK(mask_id >= 1, "masked lm: mask id ", mask_id, " must be >= 1 (ids below it are ordinary tokens)");
  const Tensor source = ids.to(DType::i64).contiguous();
  const int64_t n = source.numel();
  const int64_t* in = source.data<int64_t>();
  ROTOR_CHECK(n >= 1, "masked lm: no ids to mask");
  std::vector<int64_t> inputs(in, in + n), targets(size_t(n), kIgnoredTarget);
  auto corrupt = [&](int64_t i) {
    targets[size_t(i)] = in[i];
    const double u = rng.uniform();
    if (u < 0.8)
      inputs[size_t(i)] = mask_id;
    else if (u < 0.9)
      inputs[size_t(i)] = int64_t(rng.uniform_int(uint64_t(mask_id)));
  };
  int64_t chosen = 0;
  for (int64_t i = 0; i < n; ++i) {
    ROTOR_CHECK(in[i] >= 0 && in[i] < mask_id, "masked lm: id ", in[i], " at position ", i, " is outside [0, ",
                mask_id, ")");
    if (rng.uniform() >= rate) continue;
    corrupt(i);
    ++chosen;
  }
  if (chosen == 0) corrupt(int64_t(rng.uniform_int(uint64_t(n))));  // a loss needs one chosen position
  return {Tensor::from_vector(inputs, ids.shape()), Tensor::from_vector(targets, ids.shape())};
}

autograd::Var masked_lm_loss(const AutogradGpt& model, const MaskedBatch& batch, autograd::Reduction reduction) {
  ROTOR_CHECK(model.bidirectional(), "masked lm: the model must be a bidirectional encoder");
  autograd::CrossEntropyOptions options;
  options.ignore_index = kIgnoredTarget;
  options.reduction = reduction;
  return autograd::cross_entropy(model.forward(batch.inputs), batch.targets, options);
}

MaskedBatch masked_rows(const MaskedBatch& batch, int64_t first, int64_t count) {
  return {batch.inputs.narrow(0, first, count).contiguous(), batch.targets.narrow(0, first, count).contiguous()};
}

int64_t chosen_count(const MaskedBatch& batch) {
  const Tensor t = batch.targets.contiguous();
  const int64_t* p = t.data<int64_t>();
  int64_t chosen = 0;
  for (int64_t i = 0; i < t.numel(); ++i) chosen += p[i] != kIgnoredTarget;
  return chosen;
}

}  // namespace rotor::models
