#pragma once
// Evaluating word vectors: nearest neighbours by cosine similarity and the analogy test of
// questions-words.txt ("a b c d": is d the word nearest to b - a + c, excluding a, b and c?).
//
// The analogy test follows word2vec's compute-accuracy: only the `top_words` most frequent words
// (the first rows of the file) are searched and used, words are compared case-insensitively (ASCII;
// the first, most frequent spelling wins), and a question with any word outside them is skipped and
// reported in the coverage.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rotor/models/word2vec_vectors.h"

namespace rotor::w2v {

struct Neighbor {
  std::string word;
  float similarity;
};

// The k words most similar to `word` (itself excluded). Throws when the word is absent.
std::vector<Neighbor> nearest_neighbors(const WordVectors& vectors, const std::string& word, int k);

struct AnalogySection {
  std::string name;
  int64_t questions = 0;  // all questions of the section
  int64_t seen = 0;       // questions whose four words are among the searched words
  int64_t correct = 0;
};

struct AnalogyResult {
  std::vector<AnalogySection> sections;
  AnalogySection total;           // name "total"
  int64_t searched_words = 0;     // min(top_words, vocabulary)
};

// `questions` is the text of a questions-words file: ": section" lines and "a b c d" lines.
// Throws rotor::Error naming `source` and the line for a malformed line or a file without questions.
AnalogyResult evaluate_analogies(const WordVectors& vectors, std::string_view questions, const std::string& source,
                                 int64_t top_words = 30000);

// Rows scaled to unit length (zero rows stay zero): [size, dim].
std::vector<float> unit_rows(const WordVectors& vectors, int64_t rows);

}  // namespace rotor::w2v
