// rotor map against independent references: tests/metrics/make_map_reference.py wrote random cases
// with expected values from map_reference.py (a re-implementation of pycocotools' COCOeval and
// py-faster-rcnn's voc_eval). Each case goes through rotor's file readers and evaluators.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/io/atomic_file.h"
#include "rotor/io/coco_json.h"
#include "rotor/io/voc_files.h"
#include "rotor/metrics/box_iou.h"
#include "rotor/metrics/coco_eval.h"
#include "rotor/metrics/voc_eval.h"

namespace rotor::metrics {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json load_cases(const std::string& name) {
  return json::parse(io::read_file(std::string(ROTOR_SOURCE_DIR) + "/tests/metrics/data/" + name));
}

std::string fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(ROTOR_BINARY_DIR) / "test_tmp" / (name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

struct ThreadsGuard {
  ~ThreadsGuard() { set_num_threads(0); }
};

TEST(CocoEval, MatchesPycocotoolsReferenceOnGeneratedCases) {
  const json cases = load_cases("map_coco_cases.json");
  ASSERT_GE(cases.size(), 50u);
  const std::string dir = fresh_dir("coco_map");
  ThreadsGuard guard;
  int absent = 0;
  for (size_t c = 0; c < cases.size(); ++c) {
    SCOPED_TRACE("case " + std::to_string(c));
    write(dir + "/gt.json", cases[c]["gt"].dump());
    write(dir + "/dt.json", cases[c]["results"].dump());
    const DetectionDataset gt = io::read_coco_ground_truth(dir + "/gt.json");
    const auto dets = io::read_coco_results(dir + "/dt.json", gt);
    set_num_threads(1);
    const CocoEvaluation one = coco_evaluate(gt, dets);
    set_num_threads(2);
    const CocoEvaluation two = coco_evaluate(gt, dets);
    for (int i = 0; i < 12; ++i) {
      const double want = cases[c]["stats"][i].get<double>();
      EXPECT_NEAR(one.stats[i], want, 1e-9) << "stat " << i;
      EXPECT_EQ(one.stats[i], two.stats[i]) << "stat " << i << " depends on the thread count";
      absent += want == -1;
    }
    EXPECT_EQ(one.precision, two.precision);
  }
  EXPECT_GT(absent, 0) << "the cases should include area ranges without ground truth (-1)";
}

// Writes a VOC case as Annotations/*.xml and comp4_det_test_{class}.txt files.
void write_voc_case(const json& c, const std::string& dir) {
  fs::create_directories(dir + "/Annotations");
  std::set<std::string> present;
  for (const auto& [image, objs] : c["objects"].items()) {
    std::string xml = "<annotation>\n  <filename>" + image + ".jpg</filename>\n";
    for (const json& o : objs) {
      const json& b = o[2];
      present.insert(o[0].get<std::string>());
      xml += "  <object>\n    <name>" + o[0].get<std::string>() + "</name>\n    <difficult>" +
             std::to_string(o[1].get<int>()) + "</difficult>\n    <bndbox><xmin>" + b[0].dump() + "</xmin><ymin>" +
             b[1].dump() + "</ymin><xmax>" + b[2].dump() + "</xmax><ymax>" + b[3].dump() + "</ymax></bndbox>\n  </object>\n";
    }
    write(dir + "/Annotations/" + image + ".xml", xml + "</annotation>\n");
  }
  // Like py-faster-rcnn, a file for every class with objects, empty when it has no detections.
  for (const std::string& cls : present) {
    std::string text;
    for (const json& d : c["dets"].value(cls, json::array())) {
      char line[256];
      std::snprintf(line, sizeof line, "%s %.17g %.17g %.17g %.17g %.17g\n", d[0].get<std::string>().c_str(),
                    d[1].get<double>(), d[2][0].get<double>(), d[2][1].get<double>(), d[2][2].get<double>(),
                    d[2][3].get<double>());
      text += line;
    }
    write(dir + "/comp4_det_test_" + cls + ".txt", text);
  }
}

TEST(VocEval, MatchesVocEvalReferenceOnGeneratedCases) {
  const json cases = load_cases("map_voc_cases.json");
  ASSERT_GE(cases.size(), 50u);
  ThreadsGuard guard;
  int compared = 0, no_ap = 0;
  for (size_t c = 0; c < cases.size(); ++c) {
    SCOPED_TRACE("case " + std::to_string(c));
    const std::string dir = fresh_dir("voc_map_" + std::to_string(c));
    write_voc_case(cases[c], dir);
    const DetectionDataset gt = io::read_voc_annotations(dir + "/Annotations");
    const json& expected = cases[c]["ap"];
    ASSERT_EQ(gt.category_names.size(), expected.size());
    if (expected.empty()) {  // no objects at all: no class to evaluate, so no detection file fits
      EXPECT_THROW(io::read_voc_detections(dir + "/comp4_det_test_{}.txt", gt), Error);
      continue;
    }
    const auto dets = io::read_voc_detections(dir + "/comp4_det_test_{}.txt", gt);
    for (const char* metric : {"voc07", "voc"})
      for (double iou : {0.5, 0.7}) {
        set_num_threads(1 + (compared % 2));
        const VocEvaluation e = voc_evaluate(gt, dets, iou, std::string(metric) == "voc07");
        const std::string key = std::string(metric) + (iou == 0.5 ? "@0.5" : "@0.7");
        for (const VocClassAp& k : e.classes) {
          const json& want = expected[k.name][key];
          if (want.is_null()) {
            EXPECT_FALSE(k.ap.has_value()) << k.name;
            ++no_ap;
          } else {
            ASSERT_TRUE(k.ap.has_value()) << k.name;
            EXPECT_NEAR(*k.ap, want.get<double>(), 1e-9) << k.name << " " << key;
            ++compared;
          }
        }
      }
  }
  EXPECT_GT(compared, 400);
  EXPECT_GT(no_ap, 0) << "the cases should include classes with only difficult objects";
}

TEST(BoxIou, CocoAndVocConventions) {
  // [0,0,10,10] and [5,5,10,10]: intersection 25, union 175; crowd: 25 / the detection's 100.
  EXPECT_DOUBLE_EQ(coco_box_iou({0, 0, 10, 10}, {5, 5, 10, 10}, false), 25.0 / 175.0);
  EXPECT_DOUBLE_EQ(coco_box_iou({0, 0, 10, 10}, {5, 5, 10, 10}, true), 25.0 / 100.0);
  EXPECT_EQ(coco_box_iou({0, 0, 5, 5}, {5, 0, 5, 5}, false), 0.0);  // touching edges
  // VOC pixels 0..9 and 5..14: 5x5 overlap of 10x10 boxes.
  EXPECT_DOUBLE_EQ(voc_box_iou({0, 0, 9, 9}, {5, 5, 14, 14}), 25.0 / 175.0);
  EXPECT_DOUBLE_EQ(voc_box_iou({3, 3, 3, 3}, {3, 3, 3, 3}), 1.0);  // a one-pixel box
  EXPECT_EQ(voc_box_iou({0, 0, 4, 4}, {5, 0, 9, 4}), 0.0);
}

TEST(VocAveragePrecision, ElevenPointAndAllPoint) {
  // Detections TP, FP, TP with 2 positives: rec 0.5, 0.5, 1; prec 1, 0.5, 2/3.
  const std::vector<double> rec{0.5, 0.5, 1.0}, prec{1.0, 0.5, 2.0 / 3.0};
  EXPECT_NEAR(voc_average_precision(rec, prec, false), 0.5 * 1.0 + 0.5 * (2.0 / 3.0), 1e-15);
  // 11-point: t = 0..0.5 (6 points) see max prec 1, t = 0.6..1.0 (5 points) see 2/3.
  EXPECT_NEAR(voc_average_precision(rec, prec, true), (6 * 1.0 + 5 * (2.0 / 3.0)) / 11.0, 1e-15);
  EXPECT_EQ(voc_average_precision({}, {}, false), 0.0);
  EXPECT_EQ(voc_average_precision({}, {}, true), 0.0);
}

TEST(CocoSummary, PycocotoolsLineFormat) {
  std::array<double, 12> stats{};
  stats.fill(-1);
  stats[0] = 0.3614;
  const std::string text = coco_summary_text(stats);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.361");
  EXPECT_NE(text.find(" Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = -1.000\n"),
            std::string::npos);
  EXPECT_NE(text.find(" Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000\n"),
            std::string::npos);
  EXPECT_NE(text.find(" Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = -1.000\n"),
            std::string::npos);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(DetectionFiles, BadInputNamesTheProblem) {
  const std::string dir = fresh_dir("map_bad");
  const std::string good_gt = R"({"images":[{"id":1}],"categories":[{"id":3,"name":"cat"}],
    "annotations":[{"id":1,"image_id":1,"category_id":3,"bbox":[0,0,10,10],"area":100}]})";
  write(dir + "/gt.json", good_gt);
  const DetectionDataset gt = io::read_coco_ground_truth(dir + "/gt.json");
  auto results_error = [&](const std::string& text) {
    write(dir + "/dt.json", text);
    return error_of([&] { io::read_coco_results(dir + "/dt.json", gt); });
  };
  EXPECT_NE(results_error(R"([{"image_id":1,"category_id":3,"bbox":[0,0,1,1],"score":0.5}])").find("(no error)"),
            std::string::npos);
  EXPECT_NE(results_error("[{").find("malformed JSON"), std::string::npos);
  EXPECT_NE(results_error(R"([{"image_id":2,"category_id":3,"bbox":[0,0,1,1],"score":1}])").find("unknown image id 2"),
            std::string::npos);
  EXPECT_NE(results_error(R"([{"image_id":1,"category_id":4,"bbox":[0,0,1,1],"score":1}])").find("unknown category id 4"),
            std::string::npos);
  EXPECT_NE(results_error(R"([{"image_id":1,"category_id":3,"bbox":[0,0,-1,1],"score":1}])").find("negative size"),
            std::string::npos);
  EXPECT_NE(results_error(R"([{"image_id":1,"category_id":3,"bbox":[0,0,1,1]}])").find("has no 'score'"),
            std::string::npos);
  write(dir + "/gt2.json", R"({"images":[{"id":1},{"id":1}],"categories":[],"annotations":[]})");
  EXPECT_NE(error_of([&] { io::read_coco_ground_truth(dir + "/gt2.json"); }).find("image id 1 appears twice"),
            std::string::npos);

  fs::create_directories(dir + "/voc");
  write(dir + "/voc/a.xml", "<annotation><object><name>cat</name><bndbox><xmin>1</xmin></bndbox>");
  EXPECT_NE(error_of([&] { io::read_voc_annotations(dir + "/voc"); }).find("malformed XML"), std::string::npos);
  write(dir + "/voc/a.xml",
        "<annotation><object><name>cat</name><bndbox><xmin>5</xmin><ymin>0</ymin><xmax>4</xmax><ymax>3</ymax>"
        "</bndbox></object></annotation>");
  EXPECT_NE(error_of([&] { io::read_voc_annotations(dir + "/voc"); }).find("negative size"), std::string::npos);
  write(dir + "/voc/a.xml",
        "<annotation><object><name>cat</name><bndbox><xmin>1</xmin><ymin>0</ymin><xmax>4</xmax><ymax>3</ymax>"
        "</bndbox></object></annotation>");
  const DetectionDataset voc = io::read_voc_annotations(dir + "/voc");
  ASSERT_EQ(voc.ground_truth.size(), 1u);
  EXPECT_FALSE(voc.ground_truth[0].difficult);  // <difficult> absent
  write(dir + "/det_cat.txt", "b 0.9 1 0 4 3\n");
  EXPECT_NE(error_of([&] { io::read_voc_detections(dir + "/det_{}.txt", voc); }).find("unknown image 'b'"),
            std::string::npos);
  write(dir + "/det_cat.txt", "a 0.9 1 0 4\n");
  EXPECT_NE(error_of([&] { io::read_voc_detections(dir + "/det_{}.txt", voc); }).find("got 5 fields"), std::string::npos);
  write(dir + "/det_cat.txt", "a 0.9 1 0 4 3\n");
  write(dir + "/det_dog.txt", "a 0.9 1 0 4 3\n");
  EXPECT_NE(error_of([&] { io::read_voc_detections(dir + "/det_{}.txt", voc); }).find("class 'dog'"),
            std::string::npos);
  fs::remove(dir + "/det_dog.txt");
  EXPECT_EQ(io::read_voc_detections(dir + "/det_{}.txt", voc).size(), 1u);
}

}  // namespace
}  // namespace rotor::metrics
