#pragma once
// COCO detection files (nlohmann-json):
//   ground truth: {"images": [{"id": ...}], "categories": [{"id": ..., "name": ...}],
//                  "annotations": [{"id", "image_id", "category_id", "bbox": [x, y, w, h], "area",
//                                   "iscrowd": 0|1 (optional, default 0)}]}
//   results:      [{"image_id", "category_id", "bbox": [x, y, w, h], "score"}]
// Images and categories are indexed in ascending id order (pycocotools evaluates in that order).
// Throws rotor::Error naming the file and the entry for malformed JSON, missing or mistyped fields,
// non-finite numbers, boxes with negative width or height, duplicate ids, and ids that the ground
// truth does not define.
#include <string>
#include <vector>

#include "rotor/metrics/detection_data.h"

namespace rotor::io {

metrics::DetectionDataset read_coco_ground_truth(const std::string& path);
std::vector<metrics::DetectionBox> read_coco_results(const std::string& path, const metrics::DetectionDataset& gt);

}  // namespace rotor::io
