#include "rotor/metrics/retrieval.h"

#include <limits>

#include "rotor/core/error.h"

namespace rotor::metrics {

void count_retrieval_hits(const float* scores, int64_t queries, int64_t candidates, const int64_t* query_labels,
                          const int64_t* candidate_labels, const std::vector<int64_t>& ks, std::vector<int64_t>& hits) {
  ROTOR_CHECK(queries >= 0 && candidates >= 1, "recall_at_k: wants at least one candidate, got ", candidates);
  for (int64_t k : ks) ROTOR_CHECK(k >= 1, "recall_at_k: K must be >= 1, got ", k);
  if (hits.size() < ks.size()) hits.resize(ks.size(), 0);
  // Per query: the number of candidates above its best relevant candidate (-1: none relevant).
  std::vector<int64_t> above(static_cast<size_t>(queries));
#pragma omp parallel for schedule(static) if (queries * candidates > 100000)
  for (int64_t q = 0; q < queries; ++q) {
    const float* row = scores + q * candidates;
    float best = -std::numeric_limits<float>::infinity();
    bool any = false;
    for (int64_t c = 0; c < candidates; ++c)
      if (candidate_labels[c] == query_labels[q] && (!any || row[c] > best)) best = row[c], any = true;
    int64_t n = 0;
    if (any)
      for (int64_t c = 0; c < candidates; ++c) n += row[c] > best;
    above[static_cast<size_t>(q)] = any ? n : -1;
  }
  for (int64_t a : above)
    for (size_t k = 0; k < ks.size(); ++k) hits[k] += a >= 0 && a < ks[k];
}

std::vector<double> recall_at_k(const std::vector<float>& scores, int64_t queries, int64_t candidates,
                                const std::vector<int64_t>& query_labels, const std::vector<int64_t>& candidate_labels,
                                const std::vector<int64_t>& ks) {
  ROTOR_CHECK(queries >= 1 && static_cast<int64_t>(scores.size()) == queries * candidates &&
                  static_cast<int64_t>(query_labels.size()) == queries &&
                  static_cast<int64_t>(candidate_labels.size()) == candidates,
              "recall_at_k: ", scores.size(), " scores, ", query_labels.size(), " query labels and ",
              candidate_labels.size(), " candidate labels do not make a ", queries, " x ", candidates, " matrix");
  std::vector<int64_t> hits;
  count_retrieval_hits(scores.data(), queries, candidates, query_labels.data(), candidate_labels.data(), ks, hits);
  std::vector<double> out;
  for (int64_t h : hits) out.push_back(static_cast<double>(h) / static_cast<double>(queries));
  return out;
}

}  // namespace rotor::metrics
