#include "rotor/autograd/reduction.h"

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/views.h"
#include "rotor/kernels/elementwise.h"
#include "rotor/kernels/reduce.h"

namespace rotor::autograd {

namespace k = rotor::kernels;
using Grads = std::vector<Tensor>;
using Vars = std::vector<Var>;

namespace {

// The gradient of a reduced output, reshaped with the reduced dims kept as size 1 so it broadcasts
// back over the input.
Tensor keepdim_grad(const Tensor& g, const Shape& in_shape, const Axes& axes) {
  return g.reshape(k::reduced_shape(in_shape, k::normalize_axes(axes, static_cast<int64_t>(in_shape.size()), "reduce"), true));
}

Var keepdim_grad(const Var& g, const Shape& in_shape, const Axes& axes) {
  return reshape(g, k::reduced_shape(in_shape, k::normalize_axes(axes, static_cast<int64_t>(in_shape.size()), "reduce"), true));
}

int64_t count(const Shape& shape, const Axes& axes) {
  int64_t n = 1;
  for (int64_t a : k::normalize_axes(axes, static_cast<int64_t>(shape.size()), "reduce")) n *= shape[a];
  return n;
}

// amax/amin: dx = dy * [x == y] / (number of ties).
Var extreme(const char* name, bool is_max, const Var& x, const Axes& axes, bool keepdim) {
  const Tensor xv = x.value();
  const Tensor y = is_max ? k::max(xv, axes, keepdim) : k::min(xv, axes, keepdim);
  return record(name, y, {x}, [xv, y, axes](const Tensor& g) {
    const Tensor yk = keepdim_grad(y, xv.shape(), axes);
    const Tensor mask = k::compare(k::CompareOp::eq, xv, yk).to(g.dtype());
    const Tensor ties = k::sum(mask, axes, true);
    return Grads{k::mul(mask, k::div(keepdim_grad(g, xv.shape(), axes), ties))};
  }, [xv, y, axes](const Var& g, const Vars&) {  // the tie pattern is constant
    const Tensor mask = k::compare(k::CompareOp::eq, xv, keepdim_grad(y, xv.shape(), axes)).to(g.dtype());
    const Tensor share = k::div(mask, k::sum(mask, axes, true));
    return Vars{mul(keepdim_grad(g, xv.shape(), axes), Var(share, false))};
  });
}

}  // namespace

// y = sum x: dx = dy broadcast back.
Var sum(const Var& x, const Axes& axes, bool keepdim) {
  const Shape in_shape = x.shape();
  return record("sum", k::sum(x.value(), axes, keepdim), {x}, [in_shape, axes](const Tensor& g) {
    return Grads{keepdim_grad(g, in_shape, axes).expand(in_shape).contiguous()};
  }, [in_shape, axes](const Var& g, const Vars&) { return Vars{expand(keepdim_grad(g, in_shape, axes), in_shape)}; });
}

// y = mean x: dx = dy / n broadcast back.
Var mean(const Var& x, const Axes& axes, bool keepdim) {
  const Shape in_shape = x.shape();
  const double inv_n = 1.0 / static_cast<double>(count(in_shape, axes));
  return record("mean", k::mean(x.value(), axes, keepdim), {x}, [in_shape, axes, inv_n](const Tensor& g) {
    return Grads{k::mul_scalar(keepdim_grad(g, in_shape, axes).expand(in_shape), inv_n)};
  }, [in_shape, axes, inv_n](const Var& g, const Vars&) {
    return Vars{mul(expand(keepdim_grad(g, in_shape, axes), in_shape), inv_n)};
  });
}

Var max(const Var& x, const Axes& axes, bool keepdim) { return extreme("max", true, x, axes, keepdim); }
Var min(const Var& x, const Axes& axes, bool keepdim) { return extreme("min", false, x, axes, keepdim); }

// y = log sum exp x: dx = dy * exp(x - y).
Var logsumexp(const Var& x, const Axes& axes, bool keepdim) {
  const Tensor xv = x.value();
  const Tensor y = k::logsumexp(xv, axes, keepdim);
  return record("logsumexp", y, {x}, [xv, y, axes](const Tensor& g) {
    const Tensor p = k::exp(k::sub(xv, keepdim_grad(y, xv.shape(), axes)));
    return Grads{k::mul(p, keepdim_grad(g, xv.shape(), axes))};
  }, [axes](const Var& g, const Vars& in) {
    const Shape& in_shape = in[0].shape();
    const Var p = exp(sub(in[0], logsumexp(in[0], axes, true)));
    return Vars{mul(p, keepdim_grad(g, in_shape, axes))};
  });
}

// y = sum (x - mean)^2 / (n - c): dx = dy * 2 (x - mean) / (n - c).
Var var(const Var& x, const Axes& axes, int64_t correction, bool keepdim) {
  const Tensor xv = x.value();
  const double scale = 2.0 / static_cast<double>(count(xv.shape(), axes) - correction);
  return record("var", k::var(xv, axes, correction, keepdim), {x}, [xv, axes, scale](const Tensor& g) {
    const Tensor centered = k::sub(xv, k::mean(xv, axes, true));
    return Grads{k::mul(k::mul_scalar(centered, scale), keepdim_grad(g, xv.shape(), axes))};
  }, [axes, scale](const Var& g, const Vars& in) {
    const Var centered = sub(in[0], mean(in[0], axes, true));
    return Vars{mul(mul(centered, scale), keepdim_grad(g, in[0].shape(), axes))};
  });
}

// Sum over the leading dims x has beyond `shape` and over the dims where `shape` has size 1.
Var sum_to_shape(const Var& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  ROTOR_CHECK(broadcast_shapes(x.shape(), shape) == x.shape(), "sum_to_shape: ", shape_str(shape),
              " does not broadcast to ", shape_str(x.shape()));
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  Axes axes;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.size(d) != 1)) axes.push_back(d);
  return reshape(sum(x, axes, true), shape);
}

void register_reduction_gradchecks(GradcheckRegistry& r) {
  const std::vector<std::vector<Shape>> shapes = {{{3, 4, 5}}};
  struct AxesCase {
    const char* label;
    Axes axes;
    bool keepdim;
  };
  const std::vector<AxesCase> axes_cases = {
      {"all", {}, false}, {"last", {-1}, false}, {"first keepdim", {0}, true}, {"outer two", {0, 2}, false}};
  for (const auto& ac : axes_cases) {
    const Axes axes = ac.axes;
    const bool keep = ac.keepdim;
    r.add({"sum", ac.label, shapes, [=](const VarList& in) { return sum(in[0], axes, keep); }});
    r.add({"mean", ac.label, shapes, [=](const VarList& in) { return mean(in[0], axes, keep); }});
    r.add({"max", ac.label, shapes, [=](const VarList& in) { return max(in[0], axes, keep); }, InputDomain::distinct});
    r.add({"min", ac.label, shapes, [=](const VarList& in) { return min(in[0], axes, keep); }, InputDomain::distinct});
    r.add({"logsumexp", ac.label, shapes, [=](const VarList& in) { return logsumexp(in[0], axes, keep); }});
    r.add({"var", ac.label, shapes, [=](const VarList& in) { return var(in[0], axes, 1, keep); }});
  }
}

}  // namespace rotor::autograd
