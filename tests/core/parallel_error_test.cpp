#include "rotor/core/parallel_error.h"

#include <gtest/gtest.h>

#include <atomic>

#include "rotor/core/error.h"

namespace rotor {
namespace {

// An exception thrown in some iterations of a parallel loop comes out of rethrow() after the region
// (without FirstError, the OpenMP runtime would terminate the process); the other iterations ran.
TEST(FirstError, RethrowsAfterTheParallelRegion) {
  FirstError error;
  std::atomic<int> ran{0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(2)
  for (int i = 0; i < 64; ++i) error.run([&] {
    ++ran;
    ROTOR_CHECK(i % 16 != 5, "iteration ", i, " failed");
  });
  EXPECT_TRUE(error.failed());
  EXPECT_GE(ran.load(), 1);
  try {
    error.rethrow();
    FAIL() << "rethrow() did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("failed"), std::string::npos) << e.what();
  }
}

TEST(FirstError, NoFailureNoThrow) {
  FirstError error;
  int sum = 0;
#pragma omp parallel for reduction(+ : sum) num_threads(2)
  for (int i = 0; i < 10; ++i) error.run([&] { sum += i; });
  EXPECT_FALSE(error.failed());
  EXPECT_NO_THROW(error.rethrow());
  EXPECT_EQ(sum, 45);
}

}  // namespace
}  // namespace rotor
