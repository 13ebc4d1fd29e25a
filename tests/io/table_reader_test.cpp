// CSV and LibSVM readers: values, missing cells, headers, weights, and errors naming file:line:column.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "rotor/core/error.h"
#include "rotor/io/table_reader.h"

namespace {

using rotor::io::HeaderMode;
using rotor::io::read_csv_text;
using rotor::io::read_libsvm_text;
using rotor::io::TableOptions;

std::string error_of(const std::string& text, const TableOptions& opt, bool libsvm = false) {
  try {
    if (libsvm) read_libsvm_text(text, "f.svm", opt);
    else read_csv_text(text, "f.csv", opt);
  } catch (const rotor::Error& e) {
    return e.what();
  }
  return "";
}

TEST(CsvReader, ReadsLabelsValuesAndMissingTokens) {
  const auto t = read_csv_text("1,2.5,,3\n0,nan,NA,-1e2\n1,NaN,4,5\r\n", "f.csv", {});
  ASSERT_EQ(t.rows, 3);
  ASSERT_EQ(t.cols, 3);
  EXPECT_EQ(t.labels, (std::vector<float>{1, 0, 1}));
  EXPECT_EQ(t.at(0, 0), 2.5f);
  EXPECT_TRUE(std::isnan(t.at(0, 1)));
  EXPECT_TRUE(std::isnan(t.at(1, 0)));
  EXPECT_TRUE(std::isnan(t.at(1, 1)));
  EXPECT_EQ(t.at(1, 2), -100.0f);
  EXPECT_TRUE(std::isnan(t.at(2, 0)));
  EXPECT_EQ(t.at(2, 2), 5.0f);
}

TEST(CsvReader, HeaderIsDetectedAndLabelColumnChosen) {
  TableOptions opt;
  opt.label_column = 2;
  const auto t = read_csv_text("a,b,y\n1,2,0\n3,4,1\n", "f.csv", opt);
  EXPECT_EQ(t.rows, 2);
  EXPECT_EQ(t.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.labels, (std::vector<float>{0, 1}));
  EXPECT_EQ(t.at(1, 1), 4.0f);
  opt.header = HeaderMode::kNo;
  EXPECT_NE(error_of("a,b,y\n1,2,0\n", opt).find("f.csv:1:1: cell 'a'"), std::string::npos);
}

TEST(CsvReader, WeightColumnAndNoLabel) {
  TableOptions opt;
  opt.label_column = -1;
  opt.weight_column = 1;
  const auto t = read_csv_text("1,0.5,2\n3,2,4\n", "f.csv", opt);
  EXPECT_TRUE(t.labels.empty());
  EXPECT_EQ(t.weights, (std::vector<float>{0.5f, 2.0f}));
  EXPECT_EQ(t.cols, 2);
  EXPECT_EQ(t.at(1, 1), 4.0f);
}

TEST(CsvReader, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(error_of("1,2,3\n0,x1,3\n", {}), "f.csv:2:3: cell 'x1' (column 2) is not a number");
  EXPECT_EQ(error_of("1,2,3\n0,1\n", {}), "f.csv:2:3: row has 2 columns, expected 3 (ragged row)");
  EXPECT_EQ(error_of("1,2\n,4\n", {}), "f.csv:2:1: missing label");
  EXPECT_EQ(error_of("1,2\ninf,4\n", {}), "f.csv:2:1: label 'inf' is not finite");
  EXPECT_EQ(error_of("", {}), "f.csv: no data rows (empty file)");
  EXPECT_EQ(error_of("a,b\n", {}), "f.csv: no data rows (empty file)");
  EXPECT_EQ(error_of("1,2\n0,1e999\n", {}), "f.csv:2:3: cell '1e999' (column 2) is not a number");
}

TEST(LibsvmReader, SparseRowsBecomeDenseWithMissing) {
  const auto t = read_libsvm_text("1 1:0.5 3:2\n0 qid:3 2:-1 # comment\n\n1\n", "f.svm", {});
  ASSERT_EQ(t.rows, 3);
  ASSERT_EQ(t.cols, 4);  // indices used as given: column 0 stays empty
  EXPECT_EQ(t.labels, (std::vector<float>{1, 0, 1}));
  EXPECT_EQ(t.at(0, 1), 0.5f);
  EXPECT_EQ(t.at(0, 3), 2.0f);
  EXPECT_TRUE(std::isnan(t.at(0, 2)));
  EXPECT_EQ(t.at(1, 2), -1.0f);
  EXPECT_TRUE(std::isnan(t.at(2, 1)));
}

TEST(LibsvmReader, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(error_of("1 1:2\nx 1:2\n", {}, true), "f.svm:2:1: label 'x' is not a number");
  EXPECT_EQ(error_of("1 1:2 3\n", {}, true), "f.svm:1:7: entry '3' is not index:value");
  EXPECT_EQ(error_of("1 2:2 1:3\n", {}, true), "f.svm:1:7: feature index 1 is not increasing");
  EXPECT_EQ(error_of("1 1:abc\n", {}, true), "f.svm:1:5: value 'abc' is not a number");
  EXPECT_EQ(error_of("\n# only a comment\n", {}, true), "f.svm: no data rows (empty file)");
}

}  // namespace
