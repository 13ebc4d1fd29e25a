// BERT's masking rule (rotor/models/masked_lm.h): proportions on a large sample, and the loss only at the
// chosen positions.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rotor/core/error.h"
#include "rotor/models/masked_lm.h"

namespace rotor::models {
namespace {

TEST(MaskedLm, ProportionsOfChosenMaskedRandomAndKept) {
  const int64_t B = 200, T = 1000, mask_id = 256;
  std::vector<int64_t> ids(size_t(B * T));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int64_t((i * 7919) % size_t(mask_id));
  Rng rng(3);
  const MaskedBatch m = mask_tokens(Tensor::from_vector(ids, {B, T}), mask_id, kMaskRate, rng);
  const int64_t* in = m.inputs.data<int64_t>();
  const int64_t* tg = m.targets.data<int64_t>();
  int64_t chosen = 0, masked = 0, kept = 0, replaced = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (tg[i] == kIgnoredTarget) {
      EXPECT_EQ(in[i], ids[i]) << "an unchosen position changed at " << i;
      continue;
    }
    ++chosen;
    EXPECT_EQ(tg[i], ids[i]);
    if (in[i] == mask_id) ++masked;
    else if (in[i] == ids[i]) ++kept;
    else {
      ++replaced;
      EXPECT_TRUE(in[i] >= 0 && in[i] < mask_id);
    }
  }
  const double n = double(B * T);
  // binomial standard errors: 0.15 of 200000 -> sd 0.0008; 0.8 / 0.1 of ~30000 -> sd 0.0023 / 0.0017
  EXPECT_NEAR(double(chosen) / n, 0.15, 0.004);
  EXPECT_NEAR(double(masked) / double(chosen), 0.8, 0.01);
  // a random replacement equals the original 1 time in 256, so "kept" holds 0.1 + 0.1/256
  EXPECT_NEAR(double(kept) / double(chosen), 0.1 + 0.1 / 256, 0.008);
  EXPECT_NEAR(double(replaced) / double(chosen), 0.1 - 0.1 / 256, 0.008);
}

TEST(MaskedLm, SameSeedSameMasksAndAtLeastOneChosen) {
  const std::vector<int64_t> ids = {1, 2, 3};
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Rng a(seed), b(seed);
    const MaskedBatch x = mask_tokens(Tensor::from_vector(ids, {1, 3}), 10, 0.01, a);
    const MaskedBatch y = mask_tokens(Tensor::from_vector(ids, {1, 3}), 10, 0.01, b);
    int64_t chosen = 0;
    for (int64_t i = 0; i < 3; ++i) {
      chosen += x.targets.data<int64_t>()[i] != kIgnoredTarget;
      EXPECT_EQ(x.inputs.data<int64_t>()[i], y.inputs.data<int64_t>()[i]);
    }
    EXPECT_GE(chosen, 1);
  }
}

TEST(MaskedLm, RejectsBadInput) {
  Rng rng(1);
  const Tensor ids = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 4}, {2, 2});
  EXPECT_THROW(mask_tokens(ids, 4, 0.15, rng), Error);  // id 4 == mask id
  EXPECT_THROW(mask_tokens(ids, 10, 0.0, rng), Error);
  EXPECT_THROW(mask_tokens(ids, 10, 1.0, rng), Error);
}

}  // namespace
}  // namespace rotor::models
