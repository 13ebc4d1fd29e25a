#include "rotor/io/metrics_csv.h"

#include <gtest/gtest.h>

#include <cmath>

#include "rotor/io/atomic_file.h"
#include "tests/io/io_test_util.h"

namespace rotor::io {
namespace {

using testing::expect_error;
using testing::fresh_dir;

TEST(MetricsCsv, HeaderOnceAndExactNumbers) {
  const std::string path = fresh_dir("metrics") + "/metrics.csv";
  {
    MetricsCsv csv(path, {"step", "train_loss", "val_loss"});
    csv.append({1, 2.5, NAN});
    csv.append({2, 0.1, 1.0 / 3.0});
  }
  {
    MetricsCsv csv(path, {"step", "train_loss", "val_loss"});  // reopened: appends, no second header
    csv.append({3, 1e-7, INFINITY});
    expect_error([&] { csv.append({4, 1}); }, {"2 values for 3 columns"});
  }
  EXPECT_EQ(read_file(path), "step,train_loss,val_loss\n1,2.5,\n2,0.1,0.3333333333333333\n3,1e-07,inf\n");
  const MetricsTable table = read_metrics_csv(path);
  EXPECT_EQ(table.columns, (std::vector<std::string>{"step", "train_loss", "val_loss"}));
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_EQ(table.column("val_loss")[1], 1.0 / 3.0);  // shortest form reads back exactly
  EXPECT_TRUE(std::isnan(table.column("val_loss")[0]));
  expect_error([&] { table.column("lr"); }, {"no column 'lr'"});
  expect_error([&] { MetricsCsv(path, {"step", "loss"}); }, {"existing header 'step,train_loss,val_loss'"});
  expect_error([&] { MetricsCsv(path, {"step", "a,b"}); }, {"'a,b'"});
}

TEST(MetricsCsv, ResumeDropsLaterRowsAndPartialLines) {
  const std::string path = fresh_dir("metrics_resume") + "/metrics.csv";
  write_file_atomic(path, "step,loss\n10,3\n20,2\n30,1\n4");  // "4" is an interrupted append
  {
    MetricsCsv csv(path, {"step", "loss"}, 20.0);
    csv.append({30, 1.5});
  }
  EXPECT_EQ(read_file(path), "step,loss\n10,3\n20,2\n30,1.5\n");
  write_file_atomic(path, "step,loss\n10,x\n");
  expect_error([&] { read_metrics_csv(path); }, {"line 2", "'x' is not a number"});
  write_file_atomic(path, "step,loss\n10\n");
  expect_error([&] { read_metrics_csv(path); }, {"line 2", "1 fields for 2 columns"});
}

}  // namespace
}  // namespace rotor::io
