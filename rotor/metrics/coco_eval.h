#pragma once
// COCO box evaluation with pycocotools' COCOeval semantics and default parameters:
// 10 IoU thresholds 0.50:0.05:0.95, 101 recall points, area ranges all / small (< 32^2) / medium /
// large (> 96^2) with both bounds inclusive, maxDets 1 / 10 / 100.
//
//   1. per (category, image): detections stably sorted by descending score and cut to 100; ground
//      truth ignored if crowd or its 'area' lies outside the range, ignored ones last (stable);
//      greedy matching per threshold (coco_match.cpp);
//   2. per (category, area, maxDets): every image's first maxDets detections (images in ascending
//      id order), one stable sort by score, cumulative TP/FP, precision envelope, precision at the
//      recall points (coco_accumulate.cpp); -1 where the category has no non-ignored ground truth;
//   3. the 12 summary numbers: means over the entries that are not -1 (coco_summary.cpp).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/metrics/detection_data.h"

namespace rotor::metrics {

struct CocoParams {
  std::vector<double> iou_thresholds;     // [T] as np.linspace(0.5, 0.95, 10)
  std::vector<double> recall_thresholds;  // [R] as np.linspace(0, 1, 101)
  std::vector<std::array<double, 2>> area_ranges;  // [A] all, small, medium, large
  std::array<int, 3> max_dets{1, 10, 100};         // [M]
  static CocoParams defaults();
};

struct CocoEvaluation {
  CocoParams params;
  int64_t T = 0, R = 0, K = 0, A = 0, M = 0;
  std::vector<double> precision;  // [T, R, K, A, M]; -1 where a category has no ground truth to find
  std::vector<double> recall;     // [T, K, A, M]
  std::array<double, 12> stats{};
};

// Evaluates detections (boxes x, y, w, h) against ground truth. Categories with no detections count
// (precision 0); categories or area ranges with no non-ignored ground truth are -1 and left out of means.
CocoEvaluation coco_evaluate(const DetectionDataset& gt, const std::vector<DetectionBox>& dets);

// The 12 summary numbers from precision and recall (pycocotools' summarize()).
std::array<double, 12> coco_summary_stats(const CocoEvaluation& e);

// The summary as pycocotools prints it, 12 lines:
//  " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.123"
std::string coco_summary_text(const std::array<double, 12>& stats);

}  // namespace rotor::metrics
