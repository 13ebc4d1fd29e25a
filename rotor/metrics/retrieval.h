#pragma once
// Retrieval recall@K over a score matrix (rows: queries, columns: candidates; higher = more similar).
//
// A candidate c is relevant to query q when query_labels[q] == candidate_labels[c] (class-level retrieval;
// pass the indices 0..N-1 as both label lists for exact-pair retrieval). The rank of c for q is
// 1 + the number of candidates scoring strictly higher than c, so candidates with equal scores share the
// best rank among them (identical captions have identical embeddings and tie). Query q is a hit at K when
// some relevant candidate has rank <= K; recall@K is the fraction of queries that are hits. A query without
// any relevant candidate is a miss.
#include <cstdint>
#include <vector>

namespace rotor::metrics {

// Adds to hits[k] (one counter per entry of ks, resized to ks.size() when smaller) the number of hits at
// ks[k] among `queries` rows of `scores` ([queries, candidates] row-major). query_labels: [queries],
// candidate_labels: [candidates]. Blocks of queries can be counted one call at a time.
void count_retrieval_hits(const float* scores, int64_t queries, int64_t candidates, const int64_t* query_labels,
                          const int64_t* candidate_labels, const std::vector<int64_t>& ks, std::vector<int64_t>& hits);

// recall@K for every K of ks over the whole matrix.
std::vector<double> recall_at_k(const std::vector<float>& scores, int64_t queries, int64_t candidates,
                                const std::vector<int64_t>& query_labels, const std::vector<int64_t>& candidate_labels,
                                const std::vector<int64_t>& ks);

}  // namespace rotor::metrics
