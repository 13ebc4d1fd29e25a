// COCO parameters and the 12-number summary (pycocotools' Params and summarize()).
#include <cstdio>

#include "rotor/core/error.h"
#include "rotor/metrics/coco_eval.h"

namespace rotor::metrics {

namespace {

// np.linspace(start, stop, num): i * ((stop - start) / (num - 1)) + start, the last value exactly stop.
std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> v(num);
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) v[i] = i * step + start;
  v[num - 1] = stop;
  return v;
}

int threshold_index(const CocoParams& p, double iou) {
  for (size_t t = 0; t < p.iou_thresholds.size(); ++t)
    if (p.iou_thresholds[t] == iou) return static_cast<int>(t);
  throw Error(cat("coco summary: no IoU threshold equals ", iou));
}

// Mean of the entries > -1 over thresholds [t0, t1), all categories, one area range and maxDets;
// over recall points too when `ap`. -1 when there are none.
double summarize(const CocoEvaluation& e, bool ap, int t0, int t1, int a, int m) {
  double sum = 0;
  int64_t n = 0;
  for (int t = t0; t < t1; ++t)
    for (int64_t r = 0; r < (ap ? e.R : 1); ++r)
      for (int64_t k = 0; k < e.K; ++k) {
        const double v = ap ? e.precision[(((t * e.R + r) * e.K + k) * e.A + a) * e.M + m]
                            : e.recall[((t * e.K + k) * e.A + a) * e.M + m];
        if (v > -1) {
          sum += v;
          ++n;
        }
      }
  return n == 0 ? -1.0 : sum / static_cast<double>(n);
}

}  // namespace

CocoParams CocoParams::defaults() {
  CocoParams p;
  p.iou_thresholds = linspace(0.5, 0.95, 10);
  p.recall_thresholds = linspace(0.0, 1.0, 101);
  p.area_ranges = {{0.0, 1e10}, {0.0, 32.0 * 32.0}, {32.0 * 32.0, 96.0 * 96.0}, {96.0 * 96.0, 1e10}};
  return p;
}

std::array<double, 12> coco_summary_stats(const CocoEvaluation& e) {
  const int T = static_cast<int>(e.T);
  const int t50 = threshold_index(e.params, 0.5), t75 = threshold_index(e.params, 0.75);
  enum { kAll, kSmall, kMedium, kLarge };
  return {summarize(e, true, 0, T, kAll, 2),          summarize(e, true, t50, t50 + 1, kAll, 2),
          summarize(e, true, t75, t75 + 1, kAll, 2),  summarize(e, true, 0, T, kSmall, 2),
          summarize(e, true, 0, T, kMedium, 2),       summarize(e, true, 0, T, kLarge, 2),
          summarize(e, false, 0, T, kAll, 0),         summarize(e, false, 0, T, kAll, 1),
          summarize(e, false, 0, T, kAll, 2),         summarize(e, false, 0, T, kSmall, 2),
          summarize(e, false, 0, T, kMedium, 2),      summarize(e, false, 0, T, kLarge, 2)};
}

std::string coco_summary_text(const std::array<double, 12>& stats) {
  struct Line {
    bool ap;
    const char* iou;
    const char* area;
    int max_dets;
  };
  static const Line lines[12] = {
      {true, "0.50:0.95", "all", 100},    {true, "0.50", "all", 100},        {true, "0.75", "all", 100},
      {true, "0.50:0.95", "small", 100},  {true, "0.50:0.95", "medium", 100}, {true, "0.50:0.95", "large", 100},
      {false, "0.50:0.95", "all", 1},     {false, "0.50:0.95", "all", 10},    {false, "0.50:0.95", "all", 100},
      {false, "0.50:0.95", "small", 100}, {false, "0.50:0.95", "medium", 100}, {false, "0.50:0.95", "large", 100}};
  std::string out;
  char buf[128];
  for (int i = 0; i < 12; ++i) {
    const Line& l = lines[i];
    std::snprintf(buf, sizeof buf, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
                  l.ap ? "Average Precision" : "Average Recall", l.ap ? "(AP)" : "(AR)", l.iou, l.area, l.max_dets,
                  stats[i]);
    out += buf;
  }
  return out;
}

}  // namespace rotor::metrics
