#include "rotor/metrics/box_iou.h"

#include <algorithm>
#include <cmath>

namespace rotor::metrics {

// The operations and their order follow the references, so results are bit-identical to them
// (matching compares IoU against thresholds, where one rounding step can flip a decision).
double coco_box_iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool gt_crowd) {
  const double w = std::fmin(d[2] + d[0], g[2] + g[0]) - std::fmax(d[0], g[0]);
  if (w <= 0) return 0;
  const double h = std::fmin(d[3] + d[1], g[3] + g[1]) - std::fmax(d[1], g[1]);
  if (h <= 0) return 0;
  const double inter = w * h;
  const double det_area = d[2] * d[3];
  const double uni = gt_crowd ? det_area : det_area + g[2] * g[3] - inter;
  return inter / uni;
}

double voc_box_iou(const std::array<double, 4>& d, const std::array<double, 4>& g) {
  const double iw = std::max(std::min(g[2], d[2]) - std::max(g[0], d[0]) + 1.0, 0.0);
  const double ih = std::max(std::min(g[3], d[3]) - std::max(g[1], d[1]) + 1.0, 0.0);
  const double inter = iw * ih;
  const double uni = (d[2] - d[0] + 1.0) * (d[3] - d[1] + 1.0) + (g[2] - g[0] + 1.0) * (g[3] - g[1] + 1.0) - inter;
  return inter / uni;
}

}  // namespace rotor::metrics
