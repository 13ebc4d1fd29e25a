#include "rotor/trees/binned_matrix.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <cstring>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/core/threads.h"
#include "rotor/dist/comm.h"

namespace rotor::trees {

uint8_t BinCuts::bin_of(int f, float v) const {
  if (std::isnan(v)) return kMissingBin;
  // Branchless upper_bound: the first cut greater than v.
  const std::vector<float>& c = cuts[f];
  const float* first = c.data();
  size_t len = c.size();
  while (len > 0) {
    const size_t half = len >> 1;
    const bool right = first[half] <= v;
    first = right ? first + half + 1 : first;
    len = right ? len - half - 1 : half;
  }
  const int b = static_cast<int>(first - c.data());
  return static_cast<uint8_t>(std::min<int>(b, static_cast<int>(c.size()) - 1));
}

float BinCuts::threshold(int f, int b) const {
  if (b >= 0) return cuts[f][b];
  const float m = min_values[f];
  return std::isnan(m) ? 0.0f : m - (std::fabs(m) + 1e-5f);
}

std::vector<int64_t> cut_sample_rows(int64_t n, int64_t sample_rows, uint64_t seed) {
  std::vector<int64_t> sample;
  if (n > sample_rows) {
    Rng rng(seed ^ 0x9E3779B97F4A7C15ull);
    std::vector<int64_t> all(static_cast<size_t>(n));
    std::iota(all.begin(), all.end(), 0);
    for (int64_t i = 0; i < sample_rows; ++i) {
      const int64_t j = i + static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(n - i)));
      std::swap(all[i], all[j]);
    }
    sample.assign(all.begin(), all.begin() + sample_rows);
    std::sort(sample.begin(), sample.end());
  } else {
    sample.resize(static_cast<size_t>(n));
    std::iota(sample.begin(), sample.end(), 0);
  }
  return sample;
}

BinCuts compute_cuts(const io::Table& table, int max_bin, int64_t sample_rows, uint64_t seed) {
  ROTOR_CHECK(max_bin >= 2 && max_bin <= 256, "max_bin ", max_bin, " is outside [2, 256]");
  const int value_bins = std::min(max_bin, kMaxValueBins);
  const int F = static_cast<int>(table.cols);
  // Rows used for the quantiles: all, or a seeded sample without replacement.
  const std::vector<int64_t> sample = cut_sample_rows(table.rows, sample_rows, seed);
  const bool weighted = !table.weights.empty();
  BinCuts out;
  out.cuts.resize(F);
  out.min_values.assign(F, std::nanf(""));
#pragma omp parallel for schedule(dynamic, 1) if (static_cast<int64_t>(sample.size()) * F > kParallelThreshold)
  for (int f = 0; f < F; ++f) {
    std::vector<std::pair<float, float>> vw;  // (value, weight)
    vw.reserve(sample.size());
    for (int64_t r : sample) {
      const float v = table.at(r, f);
      if (!std::isnan(v)) vw.emplace_back(v, weighted ? table.weights[r] : 1.0f);
    }
    std::vector<float>& cuts = out.cuts[f];
    if (vw.empty()) {  // all missing: one (empty) value bin
      cuts.push_back(1e-5f);
      continue;
    }
    if (weighted) {
      std::sort(vw.begin(), vw.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    } else {  // sorting bare floats is faster
      std::vector<float> v(vw.size());
      for (size_t i = 0; i < vw.size(); ++i) v[i] = vw[i].first;
      std::sort(v.begin(), v.end());
      for (size_t i = 0; i < vw.size(); ++i) vw[i].first = v[i];
    }
    // Distinct values with their total weight.
    std::vector<float> uniq;
    std::vector<double> wsum;
    for (const auto& [v, w] : vw) {
      if (uniq.empty() || v != uniq.back()) {
        uniq.push_back(v);
        wsum.push_back(0);
      }
      wsum.back() += w;
    }
    const float maxv = uniq.back();
    out.min_values[f] = uniq.front();
    if (static_cast<int>(uniq.size()) <= value_bins) {
      for (size_t i = 1; i < uniq.size(); ++i) cuts.push_back(uniq[i]);
    } else {
      // Weighted quantiles: cut i is the first distinct value whose preceding weight reaches
      // i/value_bins of the total, so each bin holds about 1/value_bins of the weight.
      const double total = std::accumulate(wsum.begin(), wsum.end(), 0.0);
      double before = 0;  // weight strictly below uniq[j]
      size_t j = 0;
      for (int i = 1; i < value_bins; ++i) {
        const double target = total * i / value_bins;
        while (j < uniq.size() && before + wsum[j] <= target) before += wsum[j++];
        // uniq[j] is the value containing rank `target`; the cut above it starts the next bin.
        const size_t k = std::min(j + 1, uniq.size() - 1);
        if (k >= 1 && (cuts.empty() || uniq[k] > cuts.back())) cuts.push_back(uniq[k]);
      }
      if (!cuts.empty() && cuts.back() == maxv) cuts.pop_back();  // the final cut follows
    }
    cuts.push_back(maxv + std::fabs(maxv) + 1e-5f);
  }
  return out;
}

BinnedMatrix bin_table(const io::Table& table, const BinCuts& cuts) {
  ROTOR_CHECK(table.cols == cuts.num_features(), table.source, ": has ", table.cols, " features, the model expects ",
              cuts.num_features());
  BinnedMatrix m;
  m.rows = table.rows;
  m.cols = static_cast<int>(table.cols);
  m.bins.resize(static_cast<size_t>(m.rows * m.cols));
  const int F = m.cols;
  // Each feature's cuts padded with +inf to 256 entries: a fixed 8-step branch-free search.
  std::vector<float> padded(static_cast<size_t>(F) * 256, std::numeric_limits<float>::infinity());
  std::vector<int> last_bin(F);
  for (int f = 0; f < F; ++f) {
    std::copy(cuts.cuts[f].begin(), cuts.cuts[f].end(), padded.begin() + static_cast<size_t>(f) * 256);
    last_bin[f] = cuts.num_bins(f) - 1;
  }
  bool missing = false;
#pragma omp parallel for schedule(static) reduction(|| : missing) if (m.rows * F > kParallelThreshold)
  for (int64_t r = 0; r < m.rows; ++r) {
    const float* x = table.values.data() + r * F;
    uint8_t* out = m.bins.data() + r * F;
    for (int f = 0; f < F; ++f) {
      const float v = x[f];
      const float* t = padded.data() + static_cast<size_t>(f) * 256;
      int pos = 0;  // number of cuts <= v, i.e. std::upper_bound
      for (int step = 128; step > 0; step >>= 1) pos += static_cast<int>(t[pos + step - 1] <= v) * step;
      const bool is_nan = v != v;
      missing = missing || is_nan;
      out[f] = is_nan ? static_cast<uint8_t>(kMissingBin) : static_cast<uint8_t>(std::min(pos, last_bin[f]));
    }
  }
  m.has_missing = missing;
  return m;
}

}  // namespace rotor::trees

namespace rotor::trees {

BinCuts compute_cuts_distributed(const io::Table& table, int max_bin, int64_t sample_rows, uint64_t seed) {
  if (!dist::distributed()) return compute_cuts(table, max_bin, sample_rows, seed);
  std::vector<int64_t> counts(static_cast<size_t>(dist::size()), 0);
  counts[static_cast<size_t>(dist::rank())] = table.rows;
  dist::allreduce_sum(counts.data(), counts.size());
  int64_t offset = 0, total = 0;
  for (int r = 0; r < dist::size(); ++r) {
    if (r < dist::rank()) offset += counts[r];
    total += counts[r];
  }
  int64_t weighted = table.weights.empty() ? 0 : 1;
  dist::allreduce_sum(&weighted, 1);
  ROTOR_CHECK(weighted == 0 || weighted == dist::size(), table.source, ": weights are given on ", weighted, " of ",
              dist::size(), " ranks (all or none)");
  // This rank's sampled rows (values, then weights), gathered in rank order = global row order.
  const int64_t F = table.cols;
  std::string mine;
  for (int64_t g : cut_sample_rows(total, sample_rows, seed)) {
    if (g < offset || g >= offset + table.rows) continue;
    const int64_t r = g - offset;
    mine.append(reinterpret_cast<const char*>(table.values.data() + r * F), static_cast<size_t>(F) * sizeof(float));
    if (weighted) mine.append(reinterpret_cast<const char*>(&table.weights[r]), sizeof(float));
  }
  const std::string all = dist::allgather_concat(mine);
  const size_t row_bytes = static_cast<size_t>(F + (weighted ? 1 : 0)) * sizeof(float);
  io::Table sample;
  sample.source = table.source;
  sample.cols = table.cols;
  sample.rows = static_cast<int64_t>(all.size() / row_bytes);
  sample.values.resize(static_cast<size_t>(sample.rows * F));
  if (weighted) sample.weights.resize(static_cast<size_t>(sample.rows));
  for (int64_t r = 0; r < sample.rows; ++r) {
    const char* p = all.data() + static_cast<size_t>(r) * row_bytes;
    std::memcpy(sample.values.data() + r * F, p, static_cast<size_t>(F) * sizeof(float));
    if (weighted) std::memcpy(&sample.weights[r], p + F * sizeof(float), sizeof(float));
  }
  return compute_cuts(sample, max_bin, sample.rows, seed);
}

}  // namespace rotor::trees
