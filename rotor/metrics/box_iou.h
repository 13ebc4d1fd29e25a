#pragma once
// Box overlap in the two conventions detection benchmarks use.
#include <array>

namespace rotor::metrics {

// COCO (pycocotools maskApi bbIou): boxes x, y, w, h. Intersection over union; for a crowd ground
// truth, intersection over the detection's own area. 0 when the boxes do not overlap (w or h <= 0).
double coco_box_iou(const std::array<double, 4>& det, const std::array<double, 4>& gt, bool gt_crowd);

// VOC (py-faster-rcnn voc_eval): boxes x1, y1, x2, y2 of inclusive pixel indices, so widths are
// x2 - x1 + 1 and the intersection's width is max(min(x2) - max(x1) + 1, 0).
double voc_box_iou(const std::array<double, 4>& det, const std::array<double, 4>& gt);

}  // namespace rotor::metrics
