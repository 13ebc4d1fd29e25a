#pragma once
// Large-margin softmax heads for embedding training (face-recognition style), as compositions of
// autograd ops (so their gradients come from the ops' backward passes and create_graph works).
//
// Every head maps features x [N, D] and a class-weight matrix W [C, D] to logits [N, C]; the training
// loss is cross_entropy(logits, targets). Only the target column gets the margin; evaluation uses
// `margin_eval_logits` (no margin). With theta_j the angle between x and W_j:
//   softmax   x W^T + b                                       (b optional)
//   normface  s cos(theta_j)                                  (Wang et al. 2017)
//   lsoftmax  target: |W_y||x| (lambda cos(theta) + psi(theta)) / (1 + lambda); others x W_j^T
//             (Liu et al. 2016, L-Softmax)
//   asoftmax  the same with |W_j| = 1 (SphereFace, Liu et al. 2017)
//   cosface   s (cos(theta_y) - m), others s cos(theta_j)     (CosFace / AM-Softmax, Wang et al. 2018)
//   arcface   s cos(theta_y + m), others s cos(theta_j)       (ArcFace, Deng et al. 2019)
// psi(theta) = (-1)^k cos(m theta) - 2k for theta in [k pi / m, (k + 1) pi / m], k = 0..m-1, an integer
// margin m >= 1; cos(m theta) is the Chebyshev polynomial T_m(cos theta) (k is a constant of the forward).
// ArcFace keeps cos(theta + m) monotone in theta as the common reference implementations do: with
// easy_margin the margin applies only where cos(theta) > 0 (else cos(theta)); otherwise where
// theta + m > pi (cos(theta) <= cos(pi - m)) the target logit becomes cos(theta) - m sin(m).
// sin(theta) = sqrt(clamp(1 - cos^2, 0, 1)). Norms are max(|v|, 1e-12) as in F.normalize.
#include <cstdint>
#include <string>

#include "rotor/autograd/var.h"
#include "rotor/core/rng.h"
#include "rotor/nn/module.h"

namespace rotor::nn {

enum class MarginKind { softmax, normface, lsoftmax, asoftmax, cosface, arcface };
MarginKind parse_margin_kind(const std::string& name);  // throws rotor::Error on an unknown name
const char* margin_kind_name(MarginKind kind);

struct MarginOptions {
  MarginKind kind = MarginKind::softmax;
  double s = 30.0;           // scale (normface, cosface, arcface)
  double m = 0.5;            // margin: integer >= 1 for lsoftmax/asoftmax, additive for cosface/arcface
  bool easy_margin = false;  // arcface
};
// The margin a head uses by default (the papers' values): lsoftmax/asoftmax 4, cosface 0.35, arcface 0.5.
double default_margin(MarginKind kind);

// x / max(|x|, eps) over the last dim.
autograd::Var l2_normalize(const autograd::Var& x, double eps = 1e-12);
// psi(theta) of A-Softmax / L-Softmax from c = cos(theta) (any shape), integer m >= 1.
autograd::Var angular_psi(const autograd::Var& cos_theta, int m);

// Training logits [N, C]. targets: [N] integer class ids in [0, C). bias only for softmax (may be
// undefined). lambda: the annealing weight of lsoftmax/asoftmax (ignored by the others).
autograd::Var margin_logits(const autograd::Var& x, const autograd::Var& weight, const autograd::Var& bias,
                            const Tensor& targets, const MarginOptions& options, double lambda = 0.0);
// Evaluation logits (no margin): x W^T + b for softmax and lsoftmax, s cos(theta) for the others
// (asoftmax: |x| cos(theta)).
autograd::Var margin_eval_logits(const autograd::Var& x, const autograd::Var& weight, const autograd::Var& bias,
                                 const MarginOptions& options);

// Lambda annealing of L-Softmax / SphereFace (their Caffe layers):
//   lambda(it) = max(lambda_min, base * (1 + gamma * it)^(-power)); SphereFace's defaults.
struct LambdaSchedule {
  double base = 1000.0;
  double gamma = 0.12;
  double power = 1.0;
  double lambda_min = 5.0;
  double at(int64_t iteration) const;
};

// A head module: weight [C, D] (and bias [C] for softmax); forward advances the lambda schedule.
class MarginHead : public Module {
 public:
  MarginHead(int64_t features, int64_t classes, MarginOptions options, Rng& rng,
             LambdaSchedule schedule = {});
  autograd::Var forward(const autograd::Var& x, const Tensor& targets);  // training logits, iteration++
  autograd::Var eval_logits(const autograd::Var& x) const;
  double current_lambda() const { return schedule_.at(iteration_); }
  const MarginOptions& options() const { return options_; }

 private:
  MarginOptions options_;
  LambdaSchedule schedule_;
  int64_t iteration_ = 0;
  autograd::Var weight_, bias_;
};

}  // namespace rotor::nn
