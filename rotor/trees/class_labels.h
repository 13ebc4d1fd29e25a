#pragma once
// Class labels of the CART-based classifiers (forest, AdaBoost, gbm): the distinct label values in
// increasing order (scikit-learn's classes_), and each row's index into them as a float target.
#include <vector>

namespace rotor::trees {

std::vector<float> sorted_classes(const std::vector<float>& labels);

// labels [rows] -> class index [rows]; every label must be one of `classes` (sorted).
std::vector<float> class_indices(const std::vector<float>& labels, const std::vector<float>& classes);

}  // namespace rotor::trees
