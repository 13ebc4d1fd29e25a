#pragma once
// PASCAL VOC average precision with py-faster-rcnn's voc_eval definitions. Per class:
//   detections sorted by descending score (stable: equal scores keep file order); each is matched to
//   the ground truth of its image and class with the largest IoU (voc_box_iou, the +1 pixel
//   convention; the first one on ties), and is
//     ignored    if IoU > threshold and that object is difficult,
//     a TP       if IoU > threshold and that object is not yet detected (it becomes detected),
//     a FP       otherwise (no overlap above the threshold, or a duplicate);
//   recall = TP / (non-difficult objects), precision = TP / max(TP + FP, eps);
//   VOC2007: 11-point interpolation, mean over t = 0, 0.1, ..., 1.0 of max precision at recall >= t;
//   VOC2010+: area under the monotone precision envelope, summed where recall changes.
// A class with no non-difficult object has no AP (voc_eval would divide by zero).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rotor/metrics/detection_data.h"

namespace rotor::metrics {

// rec, prec: [N] cumulative recall and precision of the score-sorted detections.
double voc_average_precision(const std::vector<double>& rec, const std::vector<double>& prec, bool use_07_metric);

struct VocClassAp {
  std::string name;
  int64_t positives = 0;   // non-difficult objects
  int64_t detections = 0;
  std::optional<double> ap;  // absent when positives == 0
};

struct VocEvaluation {
  std::vector<VocClassAp> classes;  // in category order
  std::optional<double> mean_ap;    // mean over classes that have an AP
};

// Boxes are x1, y1, x2, y2 (inclusive pixels). Classes evaluate in parallel; the result does not
// depend on the thread count.
VocEvaluation voc_evaluate(const DetectionDataset& gt, const std::vector<DetectionBox>& dets, double iou_threshold,
                           bool use_07_metric);

}  // namespace rotor::metrics
