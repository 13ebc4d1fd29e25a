#include "rotor/trees/class_labels.h"

#include <algorithm>
#include <cmath>

#include "rotor/core/error.h"

namespace rotor::trees {

void check_class_labels(const std::vector<float>& labels, const std::string& source) {
  constexpr float kMaxExact = 16777216.0f;  // 2^24
  for (size_t i = 0; i < labels.size(); ++i) {
    const float v = labels[i];
    ROTOR_CHECK(std::isfinite(v) && std::floor(v) == v, source, ": row ", i + 1, ": classification label ", v,
                " is not a whole number (class labels are integers; use --task regression for continuous targets)");
    ROTOR_CHECK(std::fabs(v) <= kMaxExact, source, ": row ", i + 1, ": classification label ", v,
                " is too large (class labels must be at most 2^24 = 16777216 in magnitude)");
  }
}

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
