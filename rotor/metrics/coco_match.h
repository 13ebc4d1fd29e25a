#pragma once
// One (category, image) cell of COCO evaluation: match detections to ground truth for every IoU
// threshold and area range, as pycocotools' evaluateImg. Internal to coco_eval.
#include <cstdint>
#include <vector>

#include "rotor/metrics/coco_eval.h"

namespace rotor::metrics {

enum class CocoDetStatus : uint8_t { kFalsePositive = 0, kTruePositive = 1, kIgnored = 2 };

// The cell's result for one area range.
struct CocoCellResult {
  std::vector<double> scores;           // [D] detections by descending score (stable), at most 100
  std::vector<CocoDetStatus> status;    // [T, D]
  int64_t regular_gt = 0;               // ground truth that is neither crowd nor outside the range
};

// gts, dets: the cell's boxes in file order. out: [A] results, one per area range.
void coco_match_cell(const std::vector<const GroundTruthBox*>& gts, const std::vector<const DetectionBox*>& dets,
                     const CocoParams& params, CocoCellResult* out);

}  // namespace rotor::metrics
