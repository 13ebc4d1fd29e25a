// recall@K of rotor/metrics/retrieval.h against hand-worked score matrices.
#include "rotor/metrics/retrieval.h"

#include <gtest/gtest.h>

#include "rotor/core/error.h"

namespace rotor::metrics {
namespace {

TEST(Retrieval, ClassLevelByHand) {
  // 3 queries x 4 candidates, candidate classes {0, 1, 1, 2}.
  const std::vector<float> s = {
      0.9f, 0.1f, 0.2f, 0.3f,   // q0 (class 0): relevant c0 ranks 1                 -> hit @1, @2
      0.8f, 0.1f, 0.7f, 0.9f,   // q1 (class 1): best relevant c2 (0.7) has 2 above   -> hit @3 only
      0.5f, 0.6f, 0.7f, 0.1f,   // q2 (class 2): relevant c3 (0.1) has 3 above         -> hit @4 only
  };
  const auto r = recall_at_k(s, 3, 4, {0, 1, 2}, {0, 1, 1, 2}, {1, 2, 3, 4});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_DOUBLE_EQ(r[0], 1.0 / 3);
  EXPECT_DOUBLE_EQ(r[1], 1.0 / 3);
  EXPECT_DOUBLE_EQ(r[2], 2.0 / 3);
  EXPECT_DOUBLE_EQ(r[3], 1.0);
}

TEST(Retrieval, TiesShareTheBestRankAndPairsUseIndices) {
  // Query 0's own candidate 0 ties with candidates 1 and 2 at the top: rank 1 for all three.
  // Query 1's own candidate 1 (0.5) sits below two ties at 0.6: rank 3.
  const std::vector<float> s = {0.4f, 0.4f, 0.4f, 0.1f,
                                0.6f, 0.5f, 0.6f, 0.2f};
  const auto r = recall_at_k(s, 2, 4, {0, 1}, {0, 1, 2, 3}, {1, 2, 3});
  EXPECT_DOUBLE_EQ(r[0], 0.5);
  EXPECT_DOUBLE_EQ(r[1], 0.5);
  EXPECT_DOUBLE_EQ(r[2], 1.0);
}

TEST(Retrieval, NoRelevantCandidateIsAMissAndBlocksAdd) {
  const std::vector<float> s = {1.0f, 2.0f};
  EXPECT_DOUBLE_EQ(recall_at_k(s, 1, 2, {7}, {0, 1}, {2})[0], 0.0);
  std::vector<int64_t> hits;
  const int64_t q[] = {1}, c[] = {0, 1};
  count_retrieval_hits(s.data(), 1, 2, q, c, {1}, hits);
  count_retrieval_hits(s.data(), 1, 2, q, c, {1}, hits);
  EXPECT_EQ(hits, (std::vector<int64_t>{2}));
  EXPECT_THROW(recall_at_k(s, 1, 2, {0}, {0, 1}, {0}), Error);
  EXPECT_THROW(recall_at_k(s, 2, 2, {0, 1}, {0, 1}, {1}), Error);
}

}  // namespace
}  // namespace rotor::metrics
