#pragma once
// Plain data for detection evaluation: a ground-truth set and a list of scored detections, as the
// readers in rotor/io (COCO JSON, VOC XML folders and per-class text files) produce them. Images and
// categories are referred to by index; the index order is the evaluation order (COCO: ascending ids).
//
// Boxes are four numbers whose meaning depends on the format:
//   COCO: x, y, width, height (continuous coordinates; area of the box = w * h)
//   VOC:  x1, y1, x2, y2 (inclusive pixel indices; width = x2 - x1 + 1)
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace rotor::metrics {

struct GroundTruthBox {
  int32_t image = 0;     // index into DetectionDataset::image_names
  int32_t category = 0;  // index into DetectionDataset::category_names
  std::array<double, 4> box{};
  double area = 0;       // COCO: the annotation's 'area' field (not always w * h); unused for VOC
  bool crowd = false;    // COCO iscrowd
  bool difficult = false;  // VOC <difficult>
  int64_t id = 0;        // COCO annotation id (pycocotools treats a match to id 0 as no match)
};

struct DetectionBox {
  int32_t image = 0;
  int32_t category = 0;
  std::array<double, 4> box{};
  double score = 0;
};

struct DetectionDataset {
  std::vector<std::string> image_names;     // COCO: the id as text; VOC: the annotation file's stem
  std::vector<int64_t> image_ids;           // COCO ids (ascending); VOC: 0, 1, ...
  std::vector<std::string> category_names;
  std::vector<int64_t> category_ids;        // COCO ids (ascending); VOC: 0, 1, ...
  std::vector<GroundTruthBox> ground_truth;  // in file order
};

}  // namespace rotor::metrics
