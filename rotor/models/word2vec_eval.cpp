#include "rotor/models/word2vec_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"

namespace rotor::w2v {

namespace {

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

struct Question {
  int32_t section;
  int32_t a, b, c, d;  // row indices, all < searched words
};

}  // namespace

std::vector<float> unit_rows(const WordVectors& vectors, int64_t rows) {
  const int64_t dim = vectors.dim;
  std::vector<float> out(static_cast<size_t>(rows * dim));
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = vectors.row(r);
    const double norm = std::sqrt(static_cast<double>(dot(x, x, dim)));
    const float scale = norm > 0 ? static_cast<float>(1.0 / norm) : 0.0f;
    for (int64_t d = 0; d < dim; ++d) out[r * dim + d] = x[d] * scale;
  }
  return out;
}

std::vector<Neighbor> nearest_neighbors(const WordVectors& vectors, const std::string& word, int k) {
  ROTOR_CHECK(k >= 1, "w2v neighbors: k must be >= 1, got ", k);
  const auto it = std::find(vectors.words.begin(), vectors.words.end(), word);
  ROTOR_CHECK(it != vectors.words.end(), "w2v neighbors: word '", word, "' is not in the vectors");
  const int64_t query = it - vectors.words.begin();
  const int64_t n = vectors.size(), dim = vectors.dim;
  const std::vector<float> unit = unit_rows(vectors, n);
  std::vector<std::pair<float, int64_t>> scored;
  scored.reserve(n);
  for (int64_t r = 0; r < n; ++r)
    if (r != query) scored.emplace_back(dot(&unit[query * dim], &unit[r * dim], dim), r);
  const size_t keep = std::min<size_t>(static_cast<size_t>(k), scored.size());
  std::partial_sort(scored.begin(), scored.begin() + keep, scored.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  std::vector<Neighbor> out;
  for (size_t i = 0; i < keep; ++i) out.push_back({vectors.words[scored[i].second], scored[i].first});
  return out;
}

AnalogyResult evaluate_analogies(const WordVectors& vectors, std::string_view text, const std::string& source,
                                 int64_t top_words) {
  ROTOR_CHECK(top_words >= 1, "w2v analogy: the number of searched words must be >= 1");
  AnalogyResult result;
  result.total.name = "total";
  const int64_t searched = std::min<int64_t>(top_words, vectors.size());
  result.searched_words = searched;
  std::unordered_map<std::string, int32_t> lookup;
  for (int64_t r = 0; r < searched; ++r) lookup.try_emplace(ascii_lower(vectors.words[r]), static_cast<int32_t>(r));

  std::vector<Question> questions;
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) continue;
    if (line.front() == ':') {
      std::string_view name = line.substr(1);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      ROTOR_CHECK(!name.empty(), source, ": line ", line_no, ": section line without a name");
      result.sections.push_back({std::string(name)});
      continue;
    }
    ROTOR_CHECK(!result.sections.empty(), source, ": line ", line_no, ": question before the first ': section' line");
    std::string words[4];
    int count = 0;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i == line.size()) break;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      ROTOR_CHECK(count < 4, source, ": line ", line_no, ": expected 4 words, found more: '", line, "'");
      words[count++] = ascii_lower(line.substr(i, j - i));
      i = j;
    }
    ROTOR_CHECK(count == 4, source, ": line ", line_no, ": expected 4 words, found ", count, ": '", line, "'");
    AnalogySection& section = result.sections.back();
    ++section.questions;
    int32_t idx[4];
    bool known = true;
    for (int w = 0; w < 4; ++w) {
      const auto it = lookup.find(words[w]);
      if (it == lookup.end()) known = false;
      else idx[w] = it->second;
    }
    if (!known) continue;
    ++section.seen;
    questions.push_back({static_cast<int32_t>(result.sections.size() - 1), idx[0], idx[1], idx[2], idx[3]});
  }
  int64_t total_questions = 0;
  for (const auto& s : result.sections) total_questions += s.questions;
  ROTOR_CHECK(total_questions > 0, source, ": no questions (expected ': section' lines and 'a b c d' lines)");

  // For each question, the nearest searched word to unit(b) - unit(a) + unit(c), excluding a, b, c.
  const int64_t dim = vectors.dim;
  const std::vector<float> unit = unit_rows(vectors, searched);
  const int64_t nq = static_cast<int64_t>(questions.size());
  std::vector<uint8_t> correct(nq, 0);
  constexpr int64_t kBlock = 32;  // questions scored together, so each vocabulary row is read once per block
  const bool parallel = nq * searched * dim >= kParallelThreshold;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (int64_t q0 = 0; q0 < nq; q0 += kBlock) {
    const int64_t nb = std::min(kBlock, nq - q0);
    std::vector<float> query(static_cast<size_t>(nb * dim));
    std::vector<float> best(nb, -std::numeric_limits<float>::infinity());
    std::vector<int64_t> best_row(nb, -1);
    for (int64_t k = 0; k < nb; ++k) {
      const Question& q = questions[q0 + k];
      for (int64_t d = 0; d < dim; ++d)
        query[k * dim + d] = unit[q.b * dim + d] - unit[q.a * dim + d] + unit[q.c * dim + d];
    }
    for (int64_t r = 0; r < searched; ++r) {
      const float* row = &unit[r * dim];
      for (int64_t k = 0; k < nb; ++k) {
        const float s = dot(&query[k * dim], row, dim);
        if (s > best[k]) {
          const Question& q = questions[q0 + k];
          if (r == q.a || r == q.b || r == q.c) continue;
          best[k] = s;
          best_row[k] = r;
        }
      }
    }
    for (int64_t k = 0; k < nb; ++k) correct[q0 + k] = best_row[k] == questions[q0 + k].d;
  }
  for (int64_t i = 0; i < nq; ++i) result.sections[questions[i].section].correct += correct[i];
  for (const auto& s : result.sections) {
    result.total.questions += s.questions;
    result.total.seen += s.seen;
    result.total.correct += s.correct;
  }
  return result;
}

}  // namespace rotor::w2v
