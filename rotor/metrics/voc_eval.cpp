#include "rotor/metrics/voc_eval.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "rotor/core/threads.h"
#include "rotor/metrics/box_iou.h"

namespace rotor::metrics {

double voc_average_precision(const std::vector<double>& rec, const std::vector<double>& prec, bool use_07_metric) {
  const size_t n = rec.size();
  if (use_07_metric) {
    double ap = 0;
    for (int i = 0; i <= 10; ++i) {
      const double t = i * 0.1;  // np.arange(0., 1.1, 0.1): start + i * step
      double p = 0;
      bool any = false;
      for (size_t j = 0; j < n; ++j)
        if (rec[j] >= t) {
          p = any ? std::max(p, prec[j]) : prec[j];
          any = true;
        }
      ap = ap + p / 11.0;
    }
    return ap;
  }
  // mrec = [0, rec, 1], mpre = [0, prec, 0], envelope from the right.
  std::vector<double> mrec(n + 2), mpre(n + 2);
  mrec[0] = 0;
  mpre[0] = 0;
  for (size_t j = 0; j < n; ++j) {
    mrec[j + 1] = rec[j];
    mpre[j + 1] = prec[j];
  }
  mrec[n + 1] = 1;
  mpre[n + 1] = 0;
  for (size_t i = n + 1; i > 0; --i) mpre[i - 1] = std::max(mpre[i - 1], mpre[i]);
  double ap = 0;
  for (size_t i = 0; i + 1 < n + 2; ++i)
    if (mrec[i + 1] != mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  return ap;
}

namespace {

// One class: objects grouped by image (file order), detections in file order.
VocClassAp evaluate_class(const std::vector<std::vector<const GroundTruthBox*>>& objects_by_image,
                          const std::vector<const DetectionBox*>& dets, double iou_threshold, bool use_07_metric) {
  VocClassAp r;
  for (const auto& objs : objects_by_image)
    for (const GroundTruthBox* o : objs) r.positives += !o->difficult;
  r.detections = static_cast<int64_t>(dets.size());
  if (r.positives == 0) return r;
  std::vector<int> order(dets.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return dets[a]->score > dets[b]->score; });
  std::vector<std::vector<char>> detected(objects_by_image.size());
  for (size_t i = 0; i < objects_by_image.size(); ++i) detected[i].assign(objects_by_image[i].size(), 0);
  const size_t nd = order.size();
  std::vector<double> rec(nd), prec(nd);
  double tp = 0, fp = 0;
  for (size_t n = 0; n < nd; ++n) {
    const DetectionBox& d = *dets[order[n]];
    const auto& objs = objects_by_image[d.image];
    double best = -std::numeric_limits<double>::infinity();
    size_t jmax = 0;
    for (size_t j = 0; j < objs.size(); ++j) {
      const double ov = voc_box_iou(d.box, objs[j]->box);
      if (ov > best) {  // np.argmax: the first maximum
        best = ov;
        jmax = j;
      }
    }
    if (best > iou_threshold) {
      if (!objs[jmax]->difficult) {
        if (!detected[d.image][jmax]) {
          tp += 1;
          detected[d.image][jmax] = 1;
        } else {
          fp += 1;
        }
      }
    } else {
      fp += 1;
    }
    rec[n] = tp / static_cast<double>(r.positives);
    prec[n] = tp / std::max(tp + fp, std::numeric_limits<double>::epsilon());
  }
  r.ap = voc_average_precision(rec, prec, use_07_metric);
  return r;
}

}  // namespace

VocEvaluation voc_evaluate(const DetectionDataset& gt, const std::vector<DetectionBox>& dets, double iou_threshold,
                           bool use_07_metric) {
  const size_t K = gt.category_names.size(), I = gt.image_names.size();
  // objects[k][i]: class k's objects on image i; class_dets[k]: class k's detections in file order.
  std::vector<std::vector<std::vector<const GroundTruthBox*>>> objects(K, std::vector<std::vector<const GroundTruthBox*>>(I));
  for (const GroundTruthBox& g : gt.ground_truth) objects[g.category][g.image].push_back(&g);
  std::vector<std::vector<const DetectionBox*>> class_dets(K);
  for (const DetectionBox& d : dets) class_dets[d.category].push_back(&d);
  VocEvaluation e;
  e.classes.resize(K);
#pragma omp parallel for schedule(dynamic, 1) if (static_cast<int64_t>(dets.size()) * 4 > kParallelThreshold)
  for (size_t k = 0; k < K; ++k) {
    e.classes[k] = evaluate_class(objects[k], class_dets[k], iou_threshold, use_07_metric);
    e.classes[k].name = gt.category_names[k];
  }
  double sum = 0;
  int n = 0;
  for (const VocClassAp& c : e.classes)
    if (c.ap) {
      sum += *c.ap;
      ++n;
    }
  if (n > 0) e.mean_ap = sum / n;
  return e;
}

}  // namespace rotor::metrics
