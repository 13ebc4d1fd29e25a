#include "rotor/autograd/losses.h"

#include <cmath>
#include <limits>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/reduction.h"
#include "rotor/kernels/cross_entropy.h"
#include "rotor/kernels/elementwise.h"
#include "rotor/kernels/reduce.h"

namespace rotor::autograd {

namespace k = rotor::kernels;
using Grads = std::vector<Tensor>;

namespace {

Var reduce_loss(const Var& per_element, Reduction reduction) {
  switch (reduction) {
    case Reduction::mean: return mean(per_element);
    case Reduction::sum: return sum(per_element);
    case Reduction::none: return per_element;
  }
  return per_element;
}

}  // namespace

Var cross_entropy(const Var& logits, const Tensor& targets, const CrossEntropyOptions& o) {
  ROTOR_CHECK(logits.dim() >= 1, "cross_entropy: logits must have a class dimension");
  ROTOR_CHECK(o.label_smoothing >= 0 && o.label_smoothing <= 1, "cross_entropy: label_smoothing ", o.label_smoothing,
              " is outside [0, 1]");
  const int64_t C = logits.size(-1);
  Shape row_shape(logits.shape().begin(), logits.shape().end() - 1);
  ROTOR_CHECK(targets.defined() && targets.shape() == row_shape &&
                  (targets.dtype() == DType::i64 || targets.dtype() == DType::i32),
              "cross_entropy: targets must be an integer tensor of shape ", shape_str(row_shape), ", got ",
              targets.defined() ? targets.str() : "undefined");
  const Tensor tgt = targets.to(DType::i64);
  const int64_t rows = tgt.numel();
  const int64_t* tp = tgt.data<int64_t>();
  int64_t valid = 0;
  for (int64_t n = 0; n < rows; ++n) valid += tp[n] != o.ignore_index;  // the kernel checks the range
  const DType dt = logits.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor z = logits.value().dtype() == dt ? logits.value().contiguous() : logits.value().to(dt);  // [rows, C]
  Tensor per_row = Tensor::empty(row_shape, dt), lse = Tensor::empty({rows}, dt);
  // the kernels of rotor/kernels/cross_entropy.h (the transformer's)
  const k::CrossEntropyOptions ko{o.ignore_index, o.label_smoothing};
  if (dt == DType::f64)
    k::cross_entropy_rows<double>(per_row.data<double>(), lse.data<double>(), z.data<double>(), tp, rows, C, ko);
  else
    k::cross_entropy_rows<float>(per_row.data<float>(), lse.data<float>(), z.data<float>(), tp, rows, C, ko);

  // The reduction is folded into the op so the backward is a single pass over the logits.
  Tensor out = per_row;
  double scale = 1.0;
  if (o.reduction != Reduction::none) {
    const auto v = per_row.to_double_vector();
    double total = 0;
    for (double x : v) total += x;
    scale = o.reduction == Reduction::mean ? (valid ? 1.0 / static_cast<double>(valid)
                                                    : std::numeric_limits<double>::quiet_NaN())
                                           : 1.0;
    out = Tensor::full({}, total * scale, dt);
  }
  const Shape logit_shape = logits.shape();
  const Reduction red = o.reduction;
  return record("cross_entropy", out, {logits}, [=](const Tensor& g_in) {
    Tensor g = red == Reduction::none ? g_in.to(dt) : Tensor::full(row_shape, g_in.item() * scale, dt);
    Tensor dx = Tensor::empty(logit_shape, dt);
    if (dt == DType::f64)
      k::cross_entropy_rows_backward<double>(dx.data<double>(), z.data<double>(), lse.data<double>(),
                                             tgt.data<int64_t>(), g.data<double>(), rows, C, ko);
    else
      k::cross_entropy_rows_backward<float>(dx.data<float>(), z.data<float>(), lse.data<float>(), tgt.data<int64_t>(),
                                            g.data<float>(), rows, C, ko);
    return Grads{dx};
  });
}

Var mse_loss(const Var& a, const Var& b, Reduction reduction) { return reduce_loss(square(sub(a, b)), reduction); }

// max(x, 0) - x y + log(1 + exp(-|x|))
// One op: the per-element loss in one pass, dx = g (sigmoid(x) - y), dy = -g x (each summed to its input's
// shape when the two broadcast).
Var binary_cross_entropy_with_logits(const Var& x, const Var& y, Reduction reduction) {
  const Tensor xv = x.value(), yv = y.value();
  const bool need_y = y.requires_grad();
  Var per = record("binary_cross_entropy_with_logits", k::bce_with_logits(xv, yv), {x, y},
                   [xv, yv, need_y](const Tensor& g) {
                     const Tensor dx = k::mul(g, k::sub(k::unary(k::UnaryOp::sigmoid, xv), yv));
                     return std::vector<Tensor>{k::sum_to_shape(dx, xv.shape()),
                                                need_y ? k::sum_to_shape(k::mul_scalar(k::mul(g, xv), -1.0), yv.shape())
                                                       : Tensor()};
                   },
                   [](const Var& g, const std::vector<Var>& in) {
                     return std::vector<Var>{sum_to_shape(mul(g, sub(sigmoid(in[0]), in[1])), in[0].shape()),
                                             sum_to_shape(neg(mul(g, in[0])), in[1].shape())};
                   });
  return reduce_loss(per, reduction);
}

void register_loss_gradchecks(GradcheckRegistry& r) {
  const Tensor targets = Tensor::from_vector(std::vector<int64_t>{2, 0, -100, 4, 1, 4}, {2, 3});
  r.add({"cross_entropy", "mean with ignore", {{{2, 3, 5}}},
         [targets](const VarList& in) { return cross_entropy(in[0], targets); }});
  r.add({"cross_entropy", "label smoothing sum", {{{2, 3, 5}}}, [targets](const VarList& in) {
           return cross_entropy(in[0], targets, {-100, 0.1, Reduction::sum});
         }});
  r.add({"cross_entropy", "none", {{{2, 3, 5}}}, [targets](const VarList& in) {
           return cross_entropy(in[0], targets, {-100, 0.2, Reduction::none});
         }});
  r.add(GradcheckCase{"mse_loss", "broadcast", {{{3, 4}, {3, 4}}, {{2, 3}, {3}}, {{4, 1, 5}, {3, 5}}},
                      [](const VarList& in) { return mse_loss(in[0], in[1]); }}
            .with_broadcasting());
  r.add({"binary_cross_entropy_with_logits", "mean", {{{3, 4}, {3, 4}}, {{2, 3, 2}, {2, 3, 2}}},
         [](const VarList& in) { return binary_cross_entropy_with_logits(in[0], sigmoid(in[1])); },
         InputDomain::away_from_zero});
}

}  // namespace rotor::autograd
