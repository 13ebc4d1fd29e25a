#include "rotor/models/kjv_verses.h"

#include <algorithm>
#include <array>

#include "rotor/core/error.h"

namespace rotor::models {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "Genesis 1", "1 John 3": a name, a space and a chapter number; returns the name or "".
std::string header_book(std::string_view line) {
  if (line.empty() || line[0] == ' ') return "";
  const size_t space = line.rfind(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 == line.size()) return "";
  for (size_t i = space + 1; i < line.size(); ++i)
    if (!is_digit(line[i])) return "";
  return std::string(line.substr(0, space));
}

// "  12 text": the text after the indented verse number, or npos when the line does not start a verse.
size_t verse_text_start(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i == 0 || i == line.size() || !is_digit(line[i])) return std::string_view::npos;
  while (i < line.size() && is_digit(line[i])) ++i;
  if (i == line.size() || line[i] != ' ') return std::string_view::npos;
  return i + 1;
}

// Seeded Fisher-Yates.
template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(rng.uniform_int(uint64_t(i)))]);
}

}  // namespace

std::vector<KjvVerse> parse_kjv_verses(std::string_view text, const std::string& where) {
  std::vector<KjvVerse> verses;
  std::string book;
  bool previous_blank = true;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool blank = line.find_first_not_of(' ') == std::string_view::npos;
    const std::string header = previous_blank ? header_book(line) : "";
    previous_blank = blank;
    if (blank) continue;
    if (!header.empty()) {
      book = header;
      continue;
    }
    const size_t start = verse_text_start(line);
    if (start != std::string_view::npos && !book.empty()) {
      verses.push_back({book, std::string(line.substr(start))});
    } else if (!verses.empty() && !book.empty()) {
      verses.back().text += ' ';
      verses.back().text += line;
    }
  }
  ROTOR_CHECK(!verses.empty(), where, ": no verses found (expected the King James text as the `bible` program "
              "prints it: \"Book Chapter\" headers and indented \"  N text\" verses)");
  return verses;
}

int64_t kjv_testament(const std::string& book) {
  static const std::array<const char*, 27> kNewTestament = {
      "Matthew",   "Mark",        "Luke",          "John",       "Acts",        "Romans",          "1 Corinthians",
      "2 Corinthians", "Galatians", "Ephesians",   "Philippians", "Colossians", "1 Thessalonians", "2 Thessalonians",
      "1 Timothy", "2 Timothy",   "Titus",         "Philemon",   "Hebrews",     "James",           "1 Peter",
      "2 Peter",   "1 John",      "2 John",        "3 John",     "Jude",        "Revelation"};
  return std::find(kNewTestament.begin(), kNewTestament.end(), book) != kNewTestament.end() ? 1 : 0;
}

ClassificationSplit testament_task(const std::vector<KjvVerse>& verses, int64_t length, double test_fraction,
                                   uint64_t seed) {
  ROTOR_CHECK(length >= 1, "testament task: sequence length ", length, " must be >= 1");
  ROTOR_CHECK(test_fraction > 0 && test_fraction < 1, "testament task: test fraction ", test_fraction,
              " must be in (0, 1)");
  std::array<std::vector<const KjvVerse*>, 2> by_class;
  for (const KjvVerse& v : verses)
    if (int64_t(v.text.size()) >= length) by_class[size_t(kjv_testament(v.book))].push_back(&v);
  const size_t n = std::min(by_class[0].size(), by_class[1].size());
  ROTOR_CHECK(n >= 2, "testament task: needs at least 2 verses of >= ", length, " bytes from each testament, found ",
              by_class[0].size(), " (Old) and ", by_class[1].size(), " (New)");
  Rng rng(seed);
  ClassificationSplit split;
  split.train.length = split.test.length = length;
  const size_t n_test = std::max<size_t>(1, std::min(n - 1, size_t(double(n) * test_fraction + 0.5)));
  std::vector<std::pair<const KjvVerse*, int64_t>> train;
  for (int64_t label = 0; label < 2; ++label) {
    std::vector<const KjvVerse*>& pool = by_class[size_t(label)];
    shuffle(pool, rng);
    for (size_t i = 0; i < n; ++i) {
      if (i < n_test) {
        const std::string& t = pool[i]->text;
        split.test.ids.insert(split.test.ids.end(), t.begin(), t.begin() + length);
        split.test.labels.push_back(label);
      } else {
        train.emplace_back(pool[i], label);
      }
    }
  }
  shuffle(train, rng);
  for (const auto& [verse, label] : train) {
    split.train.ids.insert(split.train.ids.end(), verse->text.begin(), verse->text.begin() + length);
    split.train.labels.push_back(label);
  }
  // bytes as unsigned ids
  for (auto* ids : {&split.train.ids, &split.test.ids})
    for (int32_t& b : *ids) b = int32_t(uint8_t(char(b)));
  return split;
}

}  // namespace rotor::models
