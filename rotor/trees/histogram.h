#pragma once
// Gradient histograms: for every feature and bin, the sums of gradients and hessians of the rows in
// a node. Layout [features, kBinStride] of GradStats (double), the missing bin at kMissingBin.
// Rows are summed in fixed chunks whose partial histograms are added in chunk order, so the result
// does not depend on the number of threads.
#include <cstdint>
#include <vector>

#include "rotor/trees/binned_matrix.h"
#include "rotor/trees/split_gain.h"

namespace rotor::trees {

struct GradPair {
  float g = 0, h = 0;
};

// One histogram to build: the rows rows[0, count) summed into out[features * kBinStride].
struct HistogramJob {
  const uint32_t* rows;
  int64_t count;
  GradStats* out;
};

class HistogramBuilder {
 public:
  explicit HistogramBuilder(int num_features) : num_features_(num_features) {}
  size_t size() const { return static_cast<size_t>(num_features_) * kBinStride; }

  // hist: [features * kBinStride], overwritten with the sums over rows[0, count).
  void build(const BinnedMatrix& X, const GradPair* gpair, const uint32_t* rows, int64_t count, GradStats* hist);

  // Several histograms in one parallel region (e.g. the smaller children of one tree level).
  void build_many(const BinnedMatrix& X, const GradPair* gpair, const std::vector<HistogramJob>& jobs);

  // sibling = parent - child, elementwise.
  void subtract(const GradStats* parent, const GradStats* child, GradStats* sibling) const;

 private:
  int num_features_;
  std::vector<GradStats> partials_;  // [chunks, size()] scratch for the parallel path
};

// Rows per chunk of the deterministic parallel reduction.
constexpr int64_t kHistogramChunk = 16384;

}  // namespace rotor::trees
