// coco_evaluate: groups boxes into (category, image) cells, matches each cell (coco_match.cpp) and
// accumulates precision / recall per (category, area range, maxDets) as pycocotools' accumulate().
#include <omp.h>

#include <algorithm>
#include <numeric>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/metrics/coco_eval.h"
#include "rotor/metrics/coco_match.h"

namespace rotor::metrics {

namespace {

// Boxes of one category on one image that has any; cells of a category in ascending image order.
struct Cell {
  int32_t category = 0, image = 0;
  std::vector<const GroundTruthBox*> gts;
  std::vector<const DetectionBox*> dets;
};

template <class Box>
std::vector<const Box*> sorted_by_cell(const std::vector<Box>& boxes, int64_t num_images) {
  std::vector<const Box*> out(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) out[i] = &boxes[i];
  std::stable_sort(out.begin(), out.end(), [num_images](const Box* a, const Box* b) {
    return int64_t{a->category} * num_images + a->image < int64_t{b->category} * num_images + b->image;
  });
  return out;
}

std::vector<Cell> make_cells(const DetectionDataset& gt, const std::vector<DetectionBox>& dets) {
  const int64_t I = static_cast<int64_t>(gt.image_ids.size());
  const auto gts = sorted_by_cell(gt.ground_truth, I);
  const auto ds = sorted_by_cell(dets, I);
  auto key = [I](const auto* b) { return int64_t{b->category} * I + b->image; };
  std::vector<Cell> cells;
  size_t g = 0, d = 0;
  while (g < gts.size() || d < ds.size()) {
    const int64_t k = std::min(g < gts.size() ? key(gts[g]) : INT64_MAX, d < ds.size() ? key(ds[d]) : INT64_MAX);
    Cell c;
    c.category = static_cast<int32_t>(k / I);
    c.image = static_cast<int32_t>(k % I);
    for (; g < gts.size() && key(gts[g]) == k; ++g) c.gts.push_back(gts[g]);
    for (; d < ds.size() && key(ds[d]) == k; ++d) c.dets.push_back(ds[d]);
    cells.push_back(std::move(c));
  }
  return cells;
}

// Precision at the recall points and final recall of one (category, area, maxDets) from its cells.
// precision: R values written with stride `stride`; recall: one value per threshold.
void accumulate_one(const CocoCellResult* const* cells, size_t num_cells, int max_det, const CocoParams& p,
                    double* precision, int64_t precision_t_stride, double* recall, int64_t recall_t_stride) {
  const int T = static_cast<int>(p.iou_thresholds.size());
  const int R = static_cast<int>(p.recall_thresholds.size());
  int64_t regular_gt = 0;
  struct Ref {
    double score;
    const CocoCellResult* cell;
    int index;
  };
  std::vector<Ref> dets;
  for (size_t c = 0; c < num_cells; ++c) {
    regular_gt += cells[c]->regular_gt;
    const int D = std::min<int>(max_det, static_cast<int>(cells[c]->scores.size()));
    for (int d = 0; d < D; ++d) dets.push_back({cells[c]->scores[d], cells[c], d});
  }
  if (regular_gt == 0) return;  // stays -1
  std::stable_sort(dets.begin(), dets.end(), [](const Ref& a, const Ref& b) { return a.score > b.score; });
  const size_t nd = dets.size();
  std::vector<double> rc(nd), pr(nd);
  const double eps = 2.220446049250313e-16;  // np.spacing(1)
  for (int t = 0; t < T; ++t) {
    double tp = 0, fp = 0;
    for (size_t i = 0; i < nd; ++i) {
      const Ref& r = dets[i];
      const CocoDetStatus s = r.cell->status[static_cast<size_t>(t) * r.cell->scores.size() + r.index];
      tp += s == CocoDetStatus::kTruePositive;
      fp += s == CocoDetStatus::kFalsePositive;
      rc[i] = tp / static_cast<double>(regular_gt);
      pr[i] = tp / (fp + tp + eps);
    }
    recall[t * recall_t_stride] = nd ? rc[nd - 1] : 0.0;
    for (size_t i = nd; i-- > 1;)
      if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
    size_t pos = 0;
    for (int ri = 0; ri < R; ++ri) {
      // np.searchsorted(rc, thr, 'left'): first i with rc[i] >= thr; rc and thresholds both ascend.
      while (pos < nd && rc[pos] < p.recall_thresholds[ri]) ++pos;
      precision[t * precision_t_stride + ri * (precision_t_stride / R)] = pos < nd ? pr[pos] : 0.0;
    }
  }
}

}  // namespace

CocoEvaluation coco_evaluate(const DetectionDataset& gt, const std::vector<DetectionBox>& dets) {
  CocoEvaluation e;
  e.params = CocoParams::defaults();
  const CocoParams& p = e.params;
  e.T = static_cast<int64_t>(p.iou_thresholds.size());
  e.R = static_cast<int64_t>(p.recall_thresholds.size());
  e.K = static_cast<int64_t>(gt.category_ids.size());
  e.A = static_cast<int64_t>(p.area_ranges.size());
  e.M = static_cast<int64_t>(p.max_dets.size());
  ROTOR_CHECK(!gt.image_ids.empty(), "coco eval: the ground truth has no images");
  e.precision.assign(e.T * e.R * e.K * e.A * e.M, -1.0);
  e.recall.assign(e.T * e.K * e.A * e.M, -1.0);

  const std::vector<Cell> cells = make_cells(gt, dets);
  const int64_t C = static_cast<int64_t>(cells.size());
  std::vector<CocoCellResult> results(C * e.A);  // [C, A]
  int64_t work = 0;
  for (const Cell& c : cells) work += static_cast<int64_t>(c.dets.size() + 1) * (c.gts.size() + 1) * e.T * e.A;
#pragma omp parallel for schedule(dynamic, 16) if (work > kParallelThreshold)
  for (int64_t c = 0; c < C; ++c) coco_match_cell(cells[c].gts, cells[c].dets, p, &results[c * e.A]);

  // Cells of each category are contiguous and in image order.
  std::vector<int64_t> first(e.K + 1, C);
  for (int64_t c = C; c-- > 0;) first[cells[c].category] = c;
  for (int64_t k = e.K; k-- > 0;) first[k] = std::min(first[k], first[k + 1]);
  // precision [T, R, K, A, M] strides: t = R*K*A*M, r = K*A*M; recall [T, K, A, M]: t = K*A*M.
  const int64_t KAM = e.K * e.A * e.M;
#pragma omp parallel for schedule(dynamic, 1) if (static_cast<int64_t>(dets.size()) * e.T * e.A * e.M > kParallelThreshold)
  for (int64_t k = 0; k < e.K; ++k) {
    const int64_t n = first[k + 1] - first[k];
    if (n == 0) continue;  // no cell: stays -1
    std::vector<const CocoCellResult*> ptrs(n);
    for (int64_t a = 0; a < e.A; ++a) {
      for (int64_t c = 0; c < n; ++c) ptrs[c] = &results[(first[k] + c) * e.A + a];
      for (int64_t m = 0; m < e.M; ++m) {
        const int64_t off = (k * e.A + a) * e.M + m;
        accumulate_one(ptrs.data(), n, p.max_dets[m], p, e.precision.data() + off, e.R * KAM,
                       e.recall.data() + off, KAM);
      }
    }
  }
  e.stats = coco_summary_stats(e);
  return e;
}

}  // namespace rotor::metrics
