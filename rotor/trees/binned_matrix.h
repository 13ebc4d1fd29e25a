#pragma once
// BinCuts and BinnedMatrix: the quantized view of a feature table that histogram tree learners use.
// Each feature gets at most min(max_bin, 255) value bins from (weighted) quantile cuts; bin b holds
// values v with cuts[b-1] <= v < cuts[b]. Missing values (NaN) go to the separate bin kMissingBin.
// Cuts are computed once on the training data and reused to bin validation and test data.
//
// Cut rule (documented because it decides split thresholds): when a feature has at most
// max_bin distinct values u_0 < ... < u_{k-1}, the cuts are u_1, ..., u_{k-1}, max + |max| + 1e-5,
// which is XGBoost 1.7's rule for that case, so a split "bin <= b" is the threshold "x < u_{b+1}".
// With more distinct values, cuts are weighted quantiles at ranks i/max_bin (not XGBoost's sketch).
#include <cstdint>
#include <vector>

#include "rotor/io/table_reader.h"

namespace rotor::trees {

constexpr int kMissingBin = 255;
constexpr int kMaxValueBins = 255;
constexpr int kBinStride = 256;  // histogram slots per feature (value bins + the missing bin)

struct BinCuts {
  std::vector<std::vector<float>> cuts;  // [features][bins]: upper bounds, ascending
  std::vector<float> min_values;         // [features]: smallest training value (NaN if all missing)

  int num_features() const { return static_cast<int>(cuts.size()); }
  int num_bins(int f) const { return static_cast<int>(cuts[f].size()); }
  // The bin of a value: kMissingBin for NaN, else the first bin whose upper bound exceeds v
  // (values above the last cut fall in the last bin).
  uint8_t bin_of(int f, float v) const;
  // Threshold "x < t" equivalent to "bin <= b"; b == -1 means "below every value".
  float threshold(int f, int b) const;
};

// Quantile cuts from a table. weights may be empty. Rows beyond sample_rows are subsampled
// deterministically (seeded) for the sort, as LightGBM does.
BinCuts compute_cuts(const io::Table& table, int max_bin, int64_t sample_rows = 1 << 18, uint64_t seed = 0);
// The rows compute_cuts uses of a table of n rows (ascending): all, or the seeded sample.
std::vector<int64_t> cut_sample_rows(int64_t n, int64_t sample_rows, uint64_t seed);
// compute_cuts over the rows of all ranks (rotor/dist), each holding `table`, a consecutive block of
// the global rows in rank order: the sampled rows are gathered, so the cuts are those of one process
// on all rows, on every rank.
BinCuts compute_cuts_distributed(const io::Table& table, int max_bin, int64_t sample_rows = 1 << 18,
                                 uint64_t seed = 0);

// Row-major byte matrix of bins: bins[r * cols + f].
struct BinnedMatrix {
  int64_t rows = 0;
  int cols = 0;
  std::vector<uint8_t> bins;  // [rows, cols]
  bool has_missing = false;
  const uint8_t* row(int64_t r) const { return bins.data() + r * cols; }
};

BinnedMatrix bin_table(const io::Table& table, const BinCuts& cuts);

}  // namespace rotor::trees
