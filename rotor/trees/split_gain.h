#pragma once
// The regularized split objective of XGBoost (Chen & Guestrin 2016) in XGBoost 1.7's form:
//   weight(G, H) = -T_alpha(G) / (H + lambda), clipped to [-max_delta_step, max_delta_step] when set
//   gain(G, H)   = T_alpha(G)^2 / (H + lambda)                 (no max_delta_step)
//                = -(2 G w + (H + lambda) w^2), w = weight(G,H) (with max_delta_step)
//   split loss change = gain(L) + gain(R) - gain(parent); a side with H < min_child_weight scores 0.
// T_alpha is soft thresholding by the L1 penalty alpha.
#include <cmath>

namespace rotor::trees {

struct GradStats {
  double g = 0, h = 0;
  GradStats& operator+=(const GradStats& o) { g += o.g; h += o.h; return *this; }
  GradStats& operator-=(const GradStats& o) { g -= o.g; h -= o.h; return *this; }
  friend GradStats operator-(GradStats a, const GradStats& b) { return a -= b; }
  friend GradStats operator+(GradStats a, const GradStats& b) { return a += b; }
};

struct SplitPenalty {
  double lambda = 1.0;
  double alpha = 0.0;
  double min_child_weight = 1.0;
  double max_delta_step = 0.0;

  static double soft_threshold(double g, double alpha) {
    if (g > alpha) return g - alpha;
    if (g < -alpha) return g + alpha;
    return 0.0;
  }
  double weight(double g, double h) const {
    if (h < min_child_weight || h <= 0.0) return 0.0;
    double w = -soft_threshold(g, alpha) / (h + lambda);
    if (max_delta_step != 0.0 && std::fabs(w) > max_delta_step) w = std::copysign(max_delta_step, w);
    return w;
  }
  double gain(double g, double h) const {
    if (h < min_child_weight || h <= 0.0) return 0.0;
    if (max_delta_step == 0.0) {
      const double t = soft_threshold(g, alpha);
      return t * t / (h + lambda);
    }
    const double w = weight(g, h);
    return -(2.0 * g * w + (h + lambda) * w * w);
  }
};

}  // namespace rotor::trees
