#include "rotor/trees/histogram.h"

#include <algorithm>
#include <cstring>

#include "rotor/core/threads.h"

namespace rotor::trees {

namespace {

// Accumulates rows[0, count) into hist (not zeroed here). The row-wise layout touches one byte per
// feature of each row, so a row costs `features` scattered adds into a cache-resident histogram.
void accumulate(const BinnedMatrix& X, const GradPair* gpair, const uint32_t* rows, int64_t count, GradStats* hist) {
  const int F = X.cols;
  const uint8_t* bins = X.bins.data();
  constexpr int64_t kPrefetch = 16;
  for (int64_t i = 0; i < count; ++i) {
    if (i + kPrefetch < count) {
      __builtin_prefetch(bins + static_cast<int64_t>(rows[i + kPrefetch]) * F);
      __builtin_prefetch(gpair + rows[i + kPrefetch]);
    }
    const uint32_t r = rows[i];
    const uint8_t* b = bins + static_cast<int64_t>(r) * F;
    const double g = gpair[r].g, h = gpair[r].h;
    GradStats* slot = hist;
    for (int f = 0; f < F; ++f, slot += kBinStride) {
      GradStats& s = slot[b[f]];
      s.g += g;
      s.h += h;
    }
  }
}

}  // namespace

void HistogramBuilder::build(const BinnedMatrix& X, const GradPair* gpair, const uint32_t* rows, int64_t count,
                             GradStats* hist) {
  const size_t n = size();
  const int64_t chunks = (count + kHistogramChunk - 1) / kHistogramChunk;
  if (chunks <= 1) {
    std::memset(static_cast<void*>(hist), 0, n * sizeof(GradStats));
    accumulate(X, gpair, rows, count, hist);
    return;
  }
  // Several chunks: partial histograms summed in chunk order, on any number of threads.
  if (partials_.size() < static_cast<size_t>(chunks) * n) partials_.resize(static_cast<size_t>(chunks) * n);
  GradStats* partials = partials_.data();
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    GradStats* part = partials + static_cast<size_t>(c) * n;
    std::memset(static_cast<void*>(part), 0, n * sizeof(GradStats));
    const int64_t begin = c * kHistogramChunk, end = std::min(count, begin + kHistogramChunk);
    accumulate(X, gpair, rows + begin, end - begin, part);
  }
  // Reduce in chunk order (fixed), parallel over histogram slots.
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(n) * chunks > kParallelThreshold)
  for (size_t i = 0; i < n; ++i) {
    GradStats s = partials[i];
    for (int64_t c = 1; c < chunks; ++c) s += partials[static_cast<size_t>(c) * n + i];
    hist[i] = s;
  }
}

void HistogramBuilder::subtract(const GradStats* parent, const GradStats* child, GradStats* sibling) const {
  const size_t n = size();
  for (size_t i = 0; i < n; ++i) sibling[i] = parent[i] - child[i];
}

}  // namespace rotor::trees
