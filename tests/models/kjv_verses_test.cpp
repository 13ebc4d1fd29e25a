// The KJV verse reader and the testament task of `rotor finetune` (rotor/models/kjv_verses.h): headers,
// continuation lines, book names with digits; the split is balanced, disjoint, seeded, and holds each
// verse's first `length` bytes.
#include "rotor/models/kjv_verses.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "rotor/core/error.h"

namespace rotor::models {
namespace {

TEST(KjvVerses, ParsesHeadersVersesAndContinuationLines) {
  const std::string text =
      "\nGenesis 1\n\n  1 In the beginning God created the heaven and the earth.\n  2 And the earth was without form,"
      "\nand void.\n\n1 John 3\n\n  1 Behold, what manner of love\nthe Father hath bestowed\n";
  const std::vector<KjvVerse> v = parse_kjv_verses(text, "test");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].book, "Genesis");
  EXPECT_EQ(v[0].text, "In the beginning God created the heaven and the earth.");
  EXPECT_EQ(v[1].text, "And the earth was without form, and void.");
  EXPECT_EQ(v[2].book, "1 John");
  EXPECT_EQ(v[2].text, "Behold, what manner of love the Father hath bestowed");
  EXPECT_EQ(kjv_testament("Genesis"), 0);
  EXPECT_EQ(kjv_testament("Malachi"), 0);
  EXPECT_EQ(kjv_testament("1 John"), 1);
  EXPECT_EQ(kjv_testament("Revelation"), 1);
  EXPECT_THROW(parse_kjv_verses("no verses here\n", "test"), Error);
}

std::vector<KjvVerse> make_verses(int64_t old_count, int64_t new_count) {
  std::vector<KjvVerse> v;
  for (int64_t i = 0; i < old_count; ++i) v.push_back({"Exodus", "old verse number " + std::to_string(i) + " ...."});
  for (int64_t i = 0; i < new_count; ++i) v.push_back({"Mark", "new verse number " + std::to_string(i) + " ...."});
  v.push_back({"Mark", "short"});  // shorter than the length: left out
  return v;
}

std::set<std::string> rows(const LabeledSequences& s) {
  std::set<std::string> out;
  for (int64_t i = 0; i < s.size(); ++i)
    out.insert(std::string(s.ids.begin() + i * s.length, s.ids.begin() + (i + 1) * s.length) +
               char('0' + s.labels[size_t(i)]));
  return out;
}

TEST(KjvVerses, TestamentTaskIsBalancedDisjointAndSeeded) {
  const std::vector<KjvVerse> verses = make_verses(100, 30);
  const int64_t length = 20;
  const ClassificationSplit s = testament_task(verses, length, 0.2, 7);
  EXPECT_EQ(s.classes, 2);
  EXPECT_EQ(s.train.length, length);
  EXPECT_EQ(s.test.size(), 12);   // 6 of each class (0.2 x 30)
  EXPECT_EQ(s.train.size(), 48);  // 24 of each class
  int64_t test_new = 0, train_new = 0;
  for (int64_t l : s.test.labels) test_new += l;
  for (int64_t l : s.train.labels) train_new += l;
  EXPECT_EQ(test_new, 6);
  EXPECT_EQ(train_new, 24);
  const std::set<std::string> train = rows(s.train), test = rows(s.test);
  EXPECT_EQ(train.size(), size_t(s.train.size()));  // distinct verses
  for (const std::string& r : test) EXPECT_EQ(train.count(r), 0u) << "a test verse is in the training split";
  for (const std::string& r : test) {  // first `length` bytes of a verse of the right testament
    EXPECT_EQ(r.substr(0, 4), r.back() == '1' ? "new " : "old ");
  }
  const ClassificationSplit again = testament_task(verses, length, 0.2, 7);
  EXPECT_EQ(again.train.ids, s.train.ids);
  EXPECT_EQ(again.test.labels, s.test.labels);
  const ClassificationSplit other = testament_task(verses, length, 0.2, 8);
  EXPECT_NE(other.train.ids, s.train.ids);
  EXPECT_THROW(testament_task(make_verses(100, 1), length, 0.2, 7), Error);  // one New Testament verse
  EXPECT_THROW(testament_task(verses, length, 1.0, 7), Error);
}

}  // namespace
}  // namespace rotor::models
