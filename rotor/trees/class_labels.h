#pragma once
// Class labels of the CART-based classifiers (forest, AdaBoost, gbm): the distinct label values in
// increasing order (scikit-learn's classes_), and each row's index into them as a float target.
#include <string>
#include <vector>

namespace rotor::trees {

// Classification labels must be whole numbers (as scikit-learn, which rejects "continuous" targets) of
// magnitude <= 2^24, where float32 still holds every integer exactly; negative labels are classes like any
// other. Throws Error naming `source`, the row and the label.
void check_class_labels(const std::vector<float>& labels, const std::string& source);

std::vector<float> sorted_classes(const std::vector<float>& labels);

// labels [rows] -> class index [rows]; every label must be one of `classes` (sorted).
std::vector<float> class_indices(const std::vector<float>& labels, const std::vector<float>& classes);

}  // namespace rotor::trees
