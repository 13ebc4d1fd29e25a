#include "rotor/trees/class_labels.h"

#include <algorithm>

namespace rotor::trees {

std::vector<float> sorted_classes(const std::vector<float>& labels) {
  std::vector<float> classes = labels;
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  return classes;
}

std::vector<float> class_indices(const std::vector<float>& labels, const std::vector<float>& classes) {
  std::vector<float> out(labels.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(std::lower_bound(classes.begin(), classes.end(), labels[i]) - classes.begin());
  return out;
}

}  // namespace rotor::trees
