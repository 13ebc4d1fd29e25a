#pragma once
// The verses of the King James Bible as the `bible` program of Debian's bible-kjv prints them (the text
// `rotor train` uses): a header line "Book Chapter" between blank lines, each verse starting on an indented
// line "  N text", its continuation lines unindented. And the labeled task `rotor finetune --task testament`
// builds from them: which testament a verse comes from.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rotor/core/rng.h"

namespace rotor::models {

struct KjvVerse {
  std::string book;  // "Genesis", "1 John", ...
  std::string text;  // the verse without its number, lines joined by single spaces
};

// Throws naming `where` for text without any "Book Chapter" header and verse.
std::vector<KjvVerse> parse_kjv_verses(std::string_view text, const std::string& where);
// 1 for the 27 books of the New Testament (by name), 0 for the others.
int64_t kjv_testament(const std::string& book);

// Equal-length byte sequences with a class label each.
struct LabeledSequences {
  int64_t length = 0;
  std::vector<int32_t> ids;     // [n, length] bytes
  std::vector<int64_t> labels;  // [n]
  int64_t size() const { return int64_t(labels.size()); }
};
struct ClassificationSplit {
  LabeledSequences train, test;
  int64_t classes = 2;
};

// The testament task: every verse of at least `length` bytes gives its first `length` bytes; the larger
// testament is subsampled (seeded) to the size of the smaller one, so both classes are equally frequent and
// chance is 50%; each class is split (after a seeded shuffle) into test (test_fraction) and train, and the
// train split is shuffled. Throws when a class has fewer than two such verses.
ClassificationSplit testament_task(const std::vector<KjvVerse>& verses, int64_t length, double test_fraction,
                                   uint64_t seed);

}  // namespace rotor::models
