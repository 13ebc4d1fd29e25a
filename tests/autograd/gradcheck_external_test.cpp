// A case registered from outside the library with a static initializer (the way another module's ops
// join the registry) is enumerated and run by the Gradcheck suite like the built-in ones.
#include <gtest/gtest.h>

#include <string>

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/ops.h"

namespace rotor::autograd {
namespace {

const bool registered = (gradcheck_registry().add({"external_softplus", "static registration", {{{3, 4}}, {{5}}},
                                                   [](const VarList& in) { return log(add(exp(in[0]), 1.0)); }}),
                         true);

TEST(GradcheckHarness, ExternalRegistrationIsEnumerated) {
  EXPECT_TRUE(registered);
  bool found = false;
  const auto* unit = ::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit->total_test_suite_count(); ++i) {
    const auto* suite = unit->GetTestSuite(i);
    for (int j = 0; j < suite->total_test_count(); ++j)
      found = found || std::string(suite->GetTestInfo(j)->name()).find("external_softplus") != std::string::npos;
  }
  EXPECT_TRUE(found) << "the externally registered case is not among the Gradcheck tests";
}

}  // namespace
}  // namespace rotor::autograd
