// `rotor map`: detection mean average precision, COCO (pycocotools' 12-number summary) or PASCAL VOC
// (py-faster-rcnn's voc_eval, 2007 11-point or 2010+ all-point).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "rotor/cli/command.h"
#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/io/coco_json.h"
#include "rotor/io/voc_files.h"
#include "rotor/metrics/coco_eval.h"
#include "rotor/metrics/voc_eval.h"

namespace {

struct Options {
  std::string gt, dt, metric, image_set, json_out;
  double iou = 0.5;
  int threads = 0;
};

nlohmann::json optional_number(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

nlohmann::json run_coco(const Options& o) {
  const rotor::metrics::DetectionDataset gt = rotor::io::read_coco_ground_truth(o.gt);
  const auto dets = rotor::io::read_coco_results(o.dt, gt);
  const rotor::metrics::CocoEvaluation e = rotor::metrics::coco_evaluate(gt, dets);
  std::fputs(rotor::metrics::coco_summary_text(e.stats).c_str(), stdout);
  nlohmann::json out = {{"metric", "coco"}, {"stats", e.stats}};
  // Per category: AP over IoU 0.50:0.95, area all, maxDets 100 (null without ground truth).
  for (int64_t k = 0; k < e.K; ++k) {
    double sum = 0;
    int64_t n = 0;
    for (int64_t tr = 0; tr < e.T * e.R; ++tr)
      if (const double v = e.precision[((tr * e.K + k) * e.A + 0) * e.M + e.M - 1]; v > -1) {
        sum += v;
        ++n;
      }
    out["categories"].push_back({{"id", gt.category_ids[k]}, {"name", gt.category_names[k]},
                                 {"ap", n ? nlohmann::json(sum / n) : nlohmann::json()}});
  }
  return out;
}

nlohmann::json run_voc(const Options& o) {
  ROTOR_CHECK(o.iou > 0 && o.iou < 1, "--iou must be in (0, 1), got ", o.iou);
  const rotor::metrics::DetectionDataset gt = rotor::io::read_voc_annotations(o.gt, o.image_set);
  const auto dets = rotor::io::read_voc_detections(o.dt, gt);
  const auto e = rotor::metrics::voc_evaluate(gt, dets, o.iou, o.metric == "voc07");
  nlohmann::json out = {{"metric", o.metric}, {"iou", o.iou}, {"mean_ap", optional_number(e.mean_ap)}};
  out["classes"] = nlohmann::json::array();
  for (const auto& c : e.classes) {
    if (c.ap)
      std::printf("AP for %s = %.4f\n", c.name.c_str(), *c.ap);
    else
      std::printf("AP for %s = n/a (only difficult objects)\n", c.name.c_str());
    out["classes"].push_back({{"name", c.name}, {"positives", c.positives}, {"detections", c.detections},
                              {"ap", optional_number(c.ap)}});
  }
  if (e.mean_ap)
    std::printf("Mean AP = %.4f\n", *e.mean_ap);
  else
    std::printf("Mean AP = n/a (no class has a non-difficult object)\n");
  return out;
}

void setup(CLI::App& cmd) {
  static Options o;
  cmd.add_option("--gt", o.gt, "ground truth: COCO JSON file (coco) or folder of VOC XML annotations (voc07, voc)")
      ->required();
  cmd.add_option("--dt", o.dt,
                 "detections: COCO results JSON (coco) or per-class text files 'DIR/comp4_det_test_{}.txt' (voc07, voc)")
      ->required();
  cmd.add_option("--metric", o.metric, "coco (AP@[.50:.95], 12-number summary), voc07 (11-point), voc (all-point)")
      ->required()
      ->check(CLI::IsMember({"coco", "voc07", "voc"}));
  cmd.add_option("--image-set", o.image_set, "VOC: file of image names, one per line (default: every .xml in --gt)");
  cmd.add_option("--iou", o.iou, "VOC: IoU a detection must exceed to match (default 0.5)");
  cmd.add_option("--json", o.json_out, "also write the numbers, at full precision, to this JSON file");
  rotor::cli::add_threads_option(cmd, o.threads);
  cmd.callback([] {
    ROTOR_CHECK(o.metric != "coco" || o.image_set.empty(), "--image-set is for the VOC metrics");
    const nlohmann::json out = o.metric == "coco" ? run_coco(o) : run_voc(o);
    if (!o.json_out.empty()) rotor::io::write_file_atomic(o.json_out, out.dump(1) + "\n");
  });
}

const bool registered =
    rotor::cli::register_command("map", "detection mAP: COCO (pycocotools) or PASCAL VOC (voc_eval) on box files", setup);

}  // namespace
