#include "rotor/autograd/losses.h"

#include <cmath>
#include <limits>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/reduction.h"
#include "rotor/kernels/fast_math.h"

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

// Per row n of logits z: lse = log sum exp z; logp = z - lse;
// loss = -(1 - s) logp[t] - s/C sum_c logp[c] (0 for ignored rows). Saves lse per row for the backward.
template <class T>
void cross_entropy_rows(const T* z, const int64_t* tgt, int64_t rows, int64_t C, const CrossEntropyOptions& o,
                        T* loss, T* lse_out) {
  using M = k::math_of<T>;
  const double s = o.label_smoothing;
#pragma omp parallel for schedule(static) if (rows * C >= (1 << 15))
  for (int64_t n = 0; n < rows; ++n) {
    const T* zr = z + n * C;
    T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
    for (int64_t c = 0; c < C; ++c) m = zr[c] > m ? zr[c] : m;
    if (!std::isfinite(m)) m = 0;
    double se = 0, sz = 0;
#pragma omp simd reduction(+ : se, sz)
    for (int64_t c = 0; c < C; ++c) {
      se += M::exp(zr[c] - m);
      sz += zr[c];
    }
    const double lse = std::log(se) + m;
    lse_out[n] = static_cast<T>(lse);
    if (tgt[n] == o.ignore_index) {
      loss[n] = 0;
      continue;
    }
    // sum_c logp[c] = sum_c z[c] - C lse
    loss[n] = static_cast<T>(-(1 - s) * (zr[tgt[n]] - lse) - s / static_cast<double>(C) * (sz - static_cast<double>(C) * lse));
  }
}

// dlogits[n, c] = g[n] * (exp(z[n, c] - lse[n]) - (1 - s) [c == t] - s / C), zero for ignored rows.
template <class T>
void cross_entropy_backward_rows(const T* z, const T* lse, const int64_t* tgt, const T* g, int64_t rows, int64_t C,
                                 const CrossEntropyOptions& o, T* dx) {
  using M = k::math_of<T>;
  const T s = static_cast<T>(o.label_smoothing), uniform = s / static_cast<T>(C);
#pragma omp parallel for schedule(static) if (rows * C >= (1 << 15))
  for (int64_t n = 0; n < rows; ++n) {
    T* d = dx + n * C;
    if (tgt[n] == o.ignore_index) {
      for (int64_t c = 0; c < C; ++c) d[c] = 0;
      continue;
    }
    const T* zr = z + n * C;
    const T gn = g[n], l = lse[n];
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) d[c] = gn * (M::exp(zr[c] - l) - uniform);
    d[tgt[n]] -= gn * (T(1) - s);
  }
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
  for (int64_t n = 0; n < rows; ++n) {
    if (tp[n] == o.ignore_index) continue;
    ROTOR_CHECK(tp[n] >= 0 && tp[n] < C, "cross_entropy: target ", tp[n], " at position ", n,
                " is out of range for ", C, " classes");
    ++valid;
  }
  const DType dt = logits.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor z = logits.value().dtype() == dt ? logits.value().contiguous() : logits.value().to(dt);  // [rows, C]
  Tensor per_row = Tensor::empty(row_shape, dt), lse = Tensor::empty({rows}, dt);
  if (dt == DType::f64) cross_entropy_rows(z.data<double>(), tp, rows, C, o, per_row.data<double>(), lse.data<double>());
  else cross_entropy_rows(z.data<float>(), tp, rows, C, o, per_row.data<float>(), lse.data<float>());

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
      cross_entropy_backward_rows(z.data<double>(), lse.data<double>(), tgt.data<int64_t>(), g.data<double>(), rows, C, o,
                                  dx.data<double>());
    else
      cross_entropy_backward_rows(z.data<float>(), lse.data<float>(), tgt.data<int64_t>(), g.data<float>(), rows, C, o,
                                  dx.data<float>());
    return Grads{dx};
  });
}

Var mse_loss(const Var& a, const Var& b, Reduction reduction) { return reduce_loss(square(sub(a, b)), reduction); }

// max(x, 0) - x y + log(1 + exp(-|x|))
Var binary_cross_entropy_with_logits(const Var& x, const Var& y, Reduction reduction) {
  Var per = add(sub(relu(x), mul(x, y)), log(add(exp(neg(abs(x))), 1.0)));
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
  r.add({"mse_loss", "broadcast", {{{3, 4}, {3, 4}}, {{2, 3}, {3}}},
         [](const VarList& in) { return mse_loss(in[0], in[1]); }});
  r.add({"binary_cross_entropy_with_logits", "mean", {{{3, 4}, {3, 4}}},
         [](const VarList& in) { return binary_cross_entropy_with_logits(in[0], sigmoid(in[1])); },
         InputDomain::away_from_zero});
}

}  // namespace rotor::autograd
