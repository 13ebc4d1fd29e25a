#include "rotor/metrics/coco_match.h"

#include <algorithm>
#include <numeric>

#include "rotor/metrics/box_iou.h"

namespace rotor::metrics {

namespace {

// Indices 0..n-1 stably ordered by descending score (np.argsort(-score, kind='mergesort')).
std::vector<int> by_descending_score(const std::vector<const DetectionBox*>& dets) {
  std::vector<int> order(dets.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return dets[a]->score > dets[b]->score; });
  return order;
}

}  // namespace

void coco_match_cell(const std::vector<const GroundTruthBox*>& gts, const std::vector<const DetectionBox*>& dets,
                     const CocoParams& params, CocoCellResult* out) {
  const int T = static_cast<int>(params.iou_thresholds.size());
  const int max_det = params.max_dets.back();
  std::vector<int> order = by_descending_score(dets);
  if (static_cast<int>(order.size()) > max_det) order.resize(max_det);
  const int D = static_cast<int>(order.size()), G = static_cast<int>(gts.size());

  // iou: [D, G], detections by score, ground truth in file order.
  std::vector<double> iou(static_cast<size_t>(D) * G);
  for (int d = 0; d < D; ++d)
    for (int g = 0; g < G; ++g) iou[d * G + g] = coco_box_iou(dets[order[d]]->box, gts[g]->box, gts[g]->crowd);

  std::vector<int> gt_order(G);
  std::vector<char> gt_ignored(G), gt_taken(static_cast<size_t>(G));
  std::vector<int64_t> matched_id(D);
  std::vector<char> det_ignored(D);
  for (size_t a = 0; a < params.area_ranges.size(); ++a) {
    const double lo = params.area_ranges[a][0], hi = params.area_ranges[a][1];
    CocoCellResult& r = out[a];
    r.scores.resize(D);
    r.status.resize(static_cast<size_t>(T) * D);
    r.regular_gt = 0;
    for (int d = 0; d < D; ++d) r.scores[d] = dets[order[d]]->score;
    // Ground truth regular first, ignored last, each group in file order.
    int n = 0;
    for (int pass = 0; pass < 2; ++pass)
      for (int g = 0; g < G; ++g) {
        const bool ignored = gts[g]->crowd || gts[g]->area < lo || gts[g]->area > hi;
        if (ignored == (pass == 1)) gt_order[n++] = g;
      }
    for (int j = 0; j < G; ++j) {
      const GroundTruthBox& g = *gts[gt_order[j]];
      gt_ignored[j] = g.crowd || g.area < lo || g.area > hi;
      r.regular_gt += !gt_ignored[j];
    }
    for (int t = 0; t < T; ++t) {
      std::fill(gt_taken.begin(), gt_taken.end(), 0);
      for (int d = 0; d < D; ++d) {
        double best = std::min(params.iou_thresholds[t], 1 - 1e-10);
        int m = -1;
        for (int j = 0; j < G; ++j) {
          if (gt_taken[j] && !gts[gt_order[j]]->crowd) continue;  // a crowd region can match many times
          if (m > -1 && !gt_ignored[m] && gt_ignored[j]) break;   // matched a regular one: stop at the ignored
          const double v = iou[d * G + gt_order[j]];
          if (v < best) continue;
          best = v;  // ">=": a later ground truth with equal IoU takes the match
          m = j;
        }
        if (m == -1) {
          matched_id[d] = 0;
          det_ignored[d] = 0;
        } else {
          matched_id[d] = gts[gt_order[m]]->id;
          det_ignored[d] = gt_ignored[m];
          gt_taken[m] = 1;
        }
        // Unmatched (pycocotools: matched gt id == 0) detections outside the area range are ignored.
        const std::array<double, 4>& b = dets[order[d]]->box;
        const double det_area = b[2] * b[3];
        if (matched_id[d] == 0 && (det_area < lo || det_area > hi)) det_ignored[d] = 1;
        r.status[static_cast<size_t>(t) * D + d] = det_ignored[d]      ? CocoDetStatus::kIgnored
                                                   : matched_id[d] != 0 ? CocoDetStatus::kTruePositive
                                                                        : CocoDetStatus::kFalsePositive;
      }
    }
  }
}

}  // namespace rotor::metrics
