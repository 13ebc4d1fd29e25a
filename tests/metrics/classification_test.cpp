// Metrics against scikit-learn's values (tests/trees/make_reference.py -> metrics_reference.json).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/metrics/classification.h"

namespace {

TEST(Metrics, MatchScikitLearn) {
  const auto j = nlohmann::json::parse(
      rotor::io::read_file(std::string(ROTOR_SOURCE_DIR) + "/tests/trees/data/metrics_reference.json"));
  const std::vector<float> s = j["scores"], y = j["labels"], w = j["weights"], p3 = j["probs3"], y3 = j["labels3"];
  using rotor::metrics::evaluate;
  EXPECT_NEAR(evaluate("auc", y, s, 0, {}), j["auc"].get<double>(), 1e-9);
  EXPECT_NEAR(evaluate("auc", y, s, 0, w), j["auc_weighted"].get<double>(), 1e-7);
  EXPECT_NEAR(evaluate("logloss", y, s, 0, {}), j["logloss"].get<double>(), 1e-6);
  EXPECT_NEAR(evaluate("logloss", y, s, 0, w), j["logloss_weighted"].get<double>(), 1e-6);
  EXPECT_NEAR(evaluate("rmse", y, s, 0, {}), j["rmse"].get<double>(), 1e-6);
  EXPECT_NEAR(evaluate("mlogloss", y3, p3, 3, {}), j["mlogloss"].get<double>(), 1e-6);
  EXPECT_NEAR(evaluate("merror", y3, p3, 3, {}), j["merror"].get<double>(), 1e-9);
  EXPECT_NEAR(evaluate("accuracy", y3, p3, 3, {}), 1 - j["merror"].get<double>(), 1e-9);
  EXPECT_THROW(evaluate("bogus", y, s, 0, {}), rotor::Error);
}

}  // namespace
