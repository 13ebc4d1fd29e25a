#pragma once
// PASCAL VOC detection files (pugixml for the XML):
//   ground truth: a folder of annotation files NAME.xml (VOC's Annotations/), each
//       <annotation><object><name>cat</name><difficult>0</difficult>
//                           <bndbox><xmin>..</xmin><ymin>..</ymin><xmax>..</xmax><ymax>..</ymax></bndbox>
//       </object>...</annotation>
//     The image is named by the file's stem (as voc_eval's annopath.format(imagename)); <difficult>
//     may be absent (0). Coordinates are inclusive pixel indices (integers in VOC; decimals accepted).
//     image_set: optional file with one image name per line (VOC's ImageSets/Main/test.txt); without
//     it every *.xml in the folder, sorted by name. Classes are the object names, sorted.
//   detections: per-class text files as the VOC devkit and py-faster-rcnn write them, one line per
//     detection "image_id score x1 y1 x2 y2"; `pattern` has "{}" where the class name goes, e.g.
//     "results/comp4_det_test_{}.txt". A class without a file has no detections; a file in the
//     pattern's folder that matches it for a class the ground truth lacks is an error.
// Errors (rotor::Error, naming file and line): malformed XML, missing elements, non-numbers,
// boxes with xmax < xmin or ymax < ymin, unknown images, classes without ground truth.
#include <string>
#include <vector>

#include "rotor/metrics/detection_data.h"

namespace rotor::io {

metrics::DetectionDataset read_voc_annotations(const std::string& folder, const std::string& image_set = "");
std::vector<metrics::DetectionBox> read_voc_detections(const std::string& pattern, const metrics::DetectionDataset& gt);

}  // namespace rotor::io
