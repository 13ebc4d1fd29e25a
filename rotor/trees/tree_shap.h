#pragma once
// Explanations of a boosted model: per-row feature contributions by TreeSHAP (Lundberg, Erion & Lee
// 2018, the polynomial-time path algorithm, with node covers as the background distribution, as
// XGBoost's pred_contribs), and per-feature importance by split count, gain and cover.
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/trees/boost_model.h"

namespace rotor::trees {

// values: [rows, num_feature] -> contributions [rows, num_outputs, num_feature + 1]; the last entry
// of each output is the bias (base margin + the trees' expected values). Each row's contributions
// sum to its margin.
std::vector<float> tree_shap(const BoostModel& model, const float* values, int64_t rows);

// XGBoost's importance types: weight (number of splits), gain / cover (mean over the splits),
// total_gain / total_cover. Features never used get 0.
std::vector<double> feature_importance(const BoostModel& model, const std::string& type);

}  // namespace rotor::trees
