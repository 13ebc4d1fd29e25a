// Analogies and neighbours against a brute-force evaluation in double precision.
#include <gtest/gtest.h>

#include <cmath>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/models/word2vec_eval.h"

namespace rotor::w2v {
namespace {

WordVectors random_vectors(int n, int dim, uint64_t seed) {
  WordVectors v;
  v.dim = dim;
  Rng rng(seed);
  for (int i = 0; i < n; ++i) v.words.push_back("w" + std::to_string(i));
  for (int i = 0; i < n * dim; ++i) v.values.push_back(static_cast<float>(rng.normal()));
  return v;
}

std::vector<double> unit(const WordVectors& v, int64_t r) {
  std::vector<double> x(v.row(r), v.row(r) + v.dim);
  double n = 0;
  for (double a : x) n += a * a;
  for (double& a : x) a /= std::sqrt(n);
  return x;
}

TEST(Word2VecEval, AnalogiesMatchBruteForce) {
  // Few dimensions so that a fair share of random questions is answered correctly.
  const WordVectors v = random_vectors(40, 3, 1);
  Rng rng(2);
  std::string text = ": first\n";
  int64_t expected_correct[2] = {0, 0}, expected_seen[2] = {0, 0};
  const int64_t top = 30;
  for (int q = 0; q < 400; ++q) {
    if (q == 200) text += ": second\n";
    const int s = q >= 200;
    int idx[4];
    for (int& i : idx) i = static_cast<int>(rng.uniform_int(40));
    if (idx[0] == idx[1] || idx[0] == idx[2] || idx[1] == idx[2]) continue;
    for (int i : idx) text += (q % 3 == 0 ? "W" : "w") + std::to_string(i) + " ";  // case-insensitive
    text += "\n";
    bool known = true;
    for (int i : idx) known = known && i < top;
    if (!known) continue;
    ++expected_seen[s];
    const auto a = unit(v, idx[0]), b = unit(v, idx[1]), c = unit(v, idx[2]);
    double best = -1e300;
    int best_row = -1;
    for (int r = 0; r < top; ++r) {
      if (r == idx[0] || r == idx[1] || r == idx[2]) continue;
      const auto x = unit(v, r);
      double score = 0;
      for (int d = 0; d < 3; ++d) score += (b[d] - a[d] + c[d]) * x[d];
      if (score > best) best = score, best_row = r;
    }
    expected_correct[s] += best_row == idx[3];
  }
  const AnalogyResult r = evaluate_analogies(v, text, "q.txt", top);
  ASSERT_EQ(r.sections.size(), 2u);
  EXPECT_EQ(r.sections[0].name, "first");
  EXPECT_EQ(r.searched_words, top);
  for (int s = 0; s < 2; ++s) {
    EXPECT_EQ(r.sections[s].seen, expected_seen[s]);
    EXPECT_EQ(r.sections[s].correct, expected_correct[s]);
  }
  EXPECT_GT(expected_correct[0] + expected_correct[1], 0);
  EXPECT_LT(r.total.seen, r.total.questions);  // some questions use words beyond the top 30
  EXPECT_EQ(r.total.correct, expected_correct[0] + expected_correct[1]);
}

TEST(Word2VecEval, PlantedAnalogyIsSolved) {
  WordVectors v;
  v.dim = 3;
  v.words = {"man", "woman", "king", "queen", "apple"};
  v.values = {1, 0, 0, /*woman*/ 0, 1, 0, /*king*/ 1, 0, 1, /*queen*/ 0, 1, 1, /*apple*/ 1, 1, 0};
  AnalogyResult r = evaluate_analogies(v, ": family\nMan Woman King Queen\nman woman king apple\nman pear king queen\n", "q");
  EXPECT_EQ(r.total.questions, 3);
  EXPECT_EQ(r.total.seen, 2);
  EXPECT_EQ(r.total.correct, 1);
}

TEST(Word2VecEval, MalformedQuestionFilesAreErrors) {
  const WordVectors v = random_vectors(5, 2, 3);
  EXPECT_THROW(evaluate_analogies(v, "w0 w1 w2 w3\n", "q"), Error);  // no section
  EXPECT_THROW(evaluate_analogies(v, ": s\nw0 w1 w2\n", "q"), Error);
  EXPECT_THROW(evaluate_analogies(v, ": s\nw0 w1 w2 w3 w4\n", "q"), Error);
  EXPECT_THROW(evaluate_analogies(v, "", "q"), Error);
  try {
    evaluate_analogies(v, ": s\n\nw0 w1 w2 w3\nw0 w1\n", "q.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q.txt: line 4: expected 4 words, found 2"), std::string::npos) << e.what();
  }
}

TEST(Word2VecEval, NeighborsMatchBruteForce) {
  const WordVectors v = random_vectors(60, 5, 4);
  const auto got = nearest_neighbors(v, "w7", 5);
  ASSERT_EQ(got.size(), 5u);
  std::vector<std::pair<double, int>> all;
  const auto q = unit(v, 7);
  for (int r = 0; r < 60; ++r) {
    if (r == 7) continue;
    const auto x = unit(v, r);
    double s = 0;
    for (int d = 0; d < 5; ++d) s += q[d] * x[d];
    all.emplace_back(-s, r);
  }
  std::sort(all.begin(), all.end());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].word, "w" + std::to_string(all[i].second));
    EXPECT_NEAR(got[i].similarity, -all[i].first, 1e-5);
  }
  EXPECT_EQ(nearest_neighbors(v, "w1", 100).size(), 59u);
  EXPECT_THROW(nearest_neighbors(v, "nope", 3), Error);
  EXPECT_THROW(nearest_neighbors(v, "w1", 0), Error);
}

}  // namespace
}  // namespace rotor::w2v
