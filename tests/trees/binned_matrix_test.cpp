// Quantile cuts and binning: distinct values become bins, max_bin caps the count with balanced
// quantiles, missing values get their own bin, and test data reuses the training cuts.
#include <gtest/gtest.h>

#include <cmath>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/trees/binned_matrix.h"

namespace {

using rotor::trees::bin_table;
using rotor::trees::compute_cuts;
using rotor::trees::kMissingBin;

rotor::io::Table column(const std::vector<float>& v) {
  rotor::io::Table t;
  t.rows = static_cast<int64_t>(v.size());
  t.cols = 1;
  t.values = v;
  t.source = "test";
  return t;
}

TEST(BinCuts, FewDistinctValuesGetOneBinEach) {
  const float nan = std::nanf("");
  const auto t = column({3, 1, 2, 2, nan, 1, 3});
  const auto cuts = compute_cuts(t, 256);
  ASSERT_EQ(cuts.num_bins(0), 3);
  EXPECT_EQ(cuts.cuts[0][0], 2.0f);  // XGBoost's rule: the next distinct value
  EXPECT_EQ(cuts.cuts[0][1], 3.0f);
  EXPECT_GT(cuts.cuts[0][2], 3.0f);
  const auto m = bin_table(t, cuts);
  EXPECT_EQ(m.bins, (std::vector<uint8_t>{2, 0, 1, 1, kMissingBin, 0, 2}));
  EXPECT_TRUE(m.has_missing);
  // Thresholds agree with bins: bin <= b  <=>  x < threshold(b).
  for (float x : {1.0f, 2.0f, 3.0f})
    for (int b = -1; b < 2; ++b) EXPECT_EQ(cuts.bin_of(0, x) <= b, x < cuts.threshold(0, b)) << x << " " << b;
}

TEST(BinCuts, MaxBinGivesBalancedQuantiles) {
  rotor::Rng rng(1);
  std::vector<float> v(10000);
  for (float& x : v) x = static_cast<float>(rng.normal());
  const auto t = column(v);
  const auto cuts = compute_cuts(t, 16);
  ASSERT_LE(cuts.num_bins(0), 16);
  ASSERT_GE(cuts.num_bins(0), 15);
  const auto m = bin_table(t, cuts);
  std::vector<int> counts(16, 0);
  for (uint8_t b : m.bins) counts[b]++;
  for (int b = 0; b < cuts.num_bins(0); ++b) {
    EXPECT_GT(counts[b], 10000 / 16 * 0.8) << "bin " << b;
    EXPECT_LT(counts[b], 10000 / 16 * 1.25) << "bin " << b;
  }
}

TEST(BinCuts, TestDataReusesTrainingCuts) {
  const auto train = column({0, 1, 2, 3});
  const auto cuts = compute_cuts(train, 256);
  const auto test = column({-5, 1.5f, 99, std::nanf("")});
  const auto m = bin_table(test, cuts);
  EXPECT_EQ(m.bins, (std::vector<uint8_t>{0, 1, 3, kMissingBin}));
  rotor::io::Table wide = column({1, 2});
  wide.cols = 2;
  wide.rows = 1;
  EXPECT_THROW(bin_table(wide, cuts), rotor::Error);
  EXPECT_THROW(compute_cuts(train, 1), rotor::Error);
  EXPECT_THROW(compute_cuts(train, 300), rotor::Error);
}

}  // namespace
