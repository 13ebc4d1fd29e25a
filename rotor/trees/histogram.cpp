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
  build_many(X, gpair, {HistogramJob{rows, count, hist}});
}

void HistogramBuilder::build_many(const BinnedMatrix& X, const GradPair* gpair, const std::vector<HistogramJob>& jobs) {
  const size_t n = size();
  // Tasks are (job, chunk of rows). A job of one chunk writes its histogram directly; larger jobs
  // write per-chunk partials that are then added in chunk order.
  struct Task {
    int64_t job, begin, end;
    size_t partial;  // index of the partial buffer, or SIZE_MAX for "write to the job's output"
  };
  struct Multi {
    int64_t job;
    size_t first_partial, chunks;
  };
  std::vector<Task> tasks;
  std::vector<Multi> multis;
  size_t partial_count = 0;
  int64_t total_rows = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const int64_t count = jobs[j].count;
    total_rows += count;
    const int64_t chunks = (count + kHistogramChunk - 1) / kHistogramChunk;
    if (chunks <= 1) {
      tasks.push_back({static_cast<int64_t>(j), 0, count, SIZE_MAX});
      continue;
    }
    multis.push_back({static_cast<int64_t>(j), partial_count, static_cast<size_t>(chunks)});
    for (int64_t c = 0; c < chunks; ++c)
      tasks.push_back({static_cast<int64_t>(j), c * kHistogramChunk, std::min(count, (c + 1) * kHistogramChunk),
                       partial_count + static_cast<size_t>(c)});
    partial_count += static_cast<size_t>(chunks);
  }
  if (partials_.size() < partial_count * n) partials_.resize(partial_count * n);
  GradStats* partials = partials_.data();
  constexpr size_t kSlotBlock = 1024;
  const size_t blocks_per_hist = (n + kSlotBlock - 1) / kSlotBlock;
  const int64_t num_tasks = static_cast<int64_t>(tasks.size());
  const int64_t num_reduce = static_cast<int64_t>(multis.size() * blocks_per_hist);
#pragma omp parallel if (num_tasks > 1 && total_rows * X.cols > kParallelThreshold)
  {
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < num_tasks; ++t) {
      const Task& task = tasks[t];
      const HistogramJob& job = jobs[task.job];
      GradStats* out = task.partial == SIZE_MAX ? job.out : partials + task.partial * n;
      std::memset(static_cast<void*>(out), 0, n * sizeof(GradStats));
      accumulate(X, gpair, job.rows + task.begin, task.end - task.begin, out);
    }
#pragma omp for schedule(static)
    for (int64_t item = 0; item < num_reduce; ++item) {
      const Multi& m = multis[static_cast<size_t>(item) / blocks_per_hist];
      const size_t lo = (static_cast<size_t>(item) % blocks_per_hist) * kSlotBlock, hi = std::min(n, lo + kSlotBlock);
      GradStats* out = jobs[m.job].out;
      const GradStats* first = partials + m.first_partial * n;
      for (size_t i = lo; i < hi; ++i) {
        GradStats s = first[i];
        for (size_t c = 1; c < m.chunks; ++c) s += first[c * n + i];
        out[i] = s;
      }
    }
  }
}

void HistogramBuilder::subtract(const GradStats* parent, const GradStats* child, GradStats* sibling) const {
  const size_t n = size();
  for (size_t i = 0; i < n; ++i) sibling[i] = parent[i] - child[i];
}

}  // namespace rotor::trees
