// TreeSHAP and importances: on imported XGBoost models they reproduce XGBoost's pred_contribs and
// get_score (tests/trees/make_reference.py -> explain_reference.json); on rotor's own models the
// contributions sum to the margin.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rotor/io/atomic_file.h"
#include "rotor/io/table_reader.h"
#include "rotor/trees/booster.h"
#include "rotor/trees/tree_shap.h"

namespace {

std::string dir() { return std::string(ROTOR_SOURCE_DIR) + "/tests/trees/data/"; }

TEST(TreeShap, MatchesXGBoostContributionsAndImportance) {
  const auto ref = nlohmann::json::parse(rotor::io::read_file(dir() + "explain_reference.json"));
  for (const std::string name : {"binary_default", "multiclass", "regression"}) {
    SCOPED_TRACE(name);
    const auto model = rotor::trees::load_model(dir() + name + ".xgb.json");
    const std::string data = name == "binary_default" ? "binary" : name;
    const auto test = rotor::io::read_csv(dir() + data + ".test.csv", {});
    const int64_t rows = 40;
    const auto phi = rotor::trees::tree_shap(model, test.values.data(), rows);
    const std::vector<double> expected = ref[name]["contribs"];
    ASSERT_EQ(phi.size(), expected.size());
    for (size_t i = 0; i < phi.size(); ++i) ASSERT_NEAR(phi[i], expected[i], 1e-5) << "entry " << i;
    for (const std::string type : {"weight", "gain", "cover", "total_gain", "total_cover"}) {
      const auto imp = rotor::trees::feature_importance(model, type);
      const auto& score = ref[name]["importance"][type];
      for (int f = 0; f < model.num_feature; ++f) {
        const std::string key = "f" + std::to_string(f);
        const double want = score.contains(key) ? score[key].get<double>() : 0.0;
        EXPECT_NEAR(imp[f], want, 1e-4 * std::max(1.0, std::fabs(want))) << type << " " << key;
      }
    }
  }
}

TEST(TreeShap, ContributionsSumToTheMargin) {
  const auto train = rotor::io::read_csv(dir() + "multiclass.train.csv", {});
  rotor::trees::BoostParams p;
  p.objective = "multi:softprob";
  p.num_class = 3;
  p.rounds = 6;
  p.tree.max_depth = 4;
  const auto model = rotor::trees::train_booster(train, nullptr, p).model;
  const int64_t rows = 50;
  const auto phi = rotor::trees::tree_shap(model, train.values.data(), rows);
  const auto margin = model.predict_margin(train.values.data(), rows);
  const int F = model.num_feature;
  for (int64_t r = 0; r < rows; ++r)
    for (int k = 0; k < 3; ++k) {
      double sum = 0;
      for (int f = 0; f <= F; ++f) sum += phi[(r * 3 + k) * (F + 1) + f];
      ASSERT_NEAR(sum, margin[r * 3 + k], 1e-4) << "row " << r << " class " << k;
    }
}

}  // namespace
