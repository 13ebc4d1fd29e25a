#pragma once
// Scores of tree-model predictions against labels, as scikit-learn's `score`: accuracy for
// classifiers, the coefficient of determination R^2 for regressors.
#include <vector>

namespace rotor::trees {

// R^2 of pred [rows] against y [rows] over the rows with use[i] != 0 (all rows when use is null);
// 0 when the labels are constant.
double r2_score(const std::vector<float>& y, const std::vector<float>& pred, const std::vector<char>* use = nullptr);

// classification: pred is [rows, classes.size()] class scores; the argmax's class value is compared with
// labels [rows]. Regression: pred is [rows] and the result is r2_score.
double prediction_score(bool classification, const std::vector<float>& classes, const std::vector<float>& labels,
                        const std::vector<float>& pred);

}  // namespace rotor::trees
