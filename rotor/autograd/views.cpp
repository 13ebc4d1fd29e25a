#include "rotor/autograd/views.h"
#include "rotor/kernels/elementwise.h"

#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/reduction.h"
#include "rotor/kernels/reduce.h"

namespace rotor::autograd {

namespace k = rotor::kernels;
using Grads = std::vector<Tensor>;
using Vars = std::vector<Var>;

namespace {
int64_t wrap_dim(int64_t d, int64_t ndim, const char* what) {
  const int64_t r = d < 0 ? d + ndim : d;
  ROTOR_CHECK(r >= 0 && r < ndim, what, ": dimension ", d, " is out of range for ", ndim, " dimensions");
  return r;
}
}  // namespace

Var reshape(const Var& x, const Shape& shape) {
  const Shape in_shape = x.shape();
  return record("reshape", x.value().reshape(shape), {x}, [in_shape](const Tensor& g) { return Grads{g.reshape(in_shape)}; },
                [in_shape](const Var& g, const Vars&) { return Vars{reshape(g, in_shape)}; });
}

Var flatten(const Var& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  const int64_t s = wrap_dim(start_dim, x.dim(), "flatten"), e = wrap_dim(end_dim, x.dim(), "flatten");
  ROTOR_CHECK(s <= e, "flatten: start dim ", start_dim, " is after end dim ", end_dim);
  Shape shape(x.shape().begin(), x.shape().begin() + s);
  int64_t n = 1;
  for (int64_t d = s; d <= e; ++d) n *= x.size(d);
  shape.push_back(n);
  shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, shape);
}

Var transpose(const Var& x, int64_t d0, int64_t d1) {
  return record("transpose", x.value().transpose(d0, d1), {x}, [d0, d1](const Tensor& g) { return Grads{g.transpose(d0, d1)}; },
                [d0, d1](const Var& g, const Vars&) { return Vars{transpose(g, d0, d1)}; });
}

Var permute(const Var& x, const std::vector<int64_t>& order) {
  const Tensor y = x.value().permute(order);  // validates the order
  std::vector<int64_t> inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i) inverse[wrap_dim(order[i], x.dim(), "permute")] = static_cast<int64_t>(i);
  return record("permute", y, {x}, [inverse](const Tensor& g) { return Grads{g.permute(inverse)}; },
                [inverse](const Var& g, const Vars&) { return Vars{permute(g, inverse)}; });
}

// y = x[start:end:step] along dim; dx is zero except in the sliced positions.
namespace {
// The view's first-order gradient added straight into its region of the input's gradient (Node::scatter_into).
Var with_scatter(Var y, std::function<void(Tensor&, const Tensor&)> scatter) {
  if (y.impl()->node) y.impl()->node->scatter_into = std::move(scatter);
  return y;
}
}  // namespace

Var slice(const Var& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  const Shape in_shape = x.shape();
  Var y = record("slice", x.value().slice(dim, start, end, step), {x}, [=](const Tensor& g) {
    Tensor dx = Tensor::zeros(in_shape, g.dtype());
    dx.slice(dim, start, end, step).copy_(g);
    return Grads{dx};
  });
  return with_scatter(std::move(y), [=](Tensor& dst, const Tensor& g) {
    Tensor region = dst.slice(dim, start, end, step);
    k::add_(region, g);
  });
}

Var narrow(const Var& x, int64_t dim, int64_t start, int64_t length) { return slice(x, dim, start, start + length); }

Var select(const Var& x, int64_t dim, int64_t index) {
  const Shape in_shape = x.shape();
  Var y = record("select", x.value().select(dim, index), {x}, [=](const Tensor& g) {
    Tensor dx = Tensor::zeros(in_shape, g.dtype());
    dx.select(dim, index).copy_(g);
    return Grads{dx};
  });
  return with_scatter(std::move(y), [=](Tensor& dst, const Tensor& g) {
    Tensor region = dst.select(dim, index);
    k::add_(region, g);
  });
}

// y = x broadcast to shape; dx = dy summed over the broadcast dims.
Var expand(const Var& x, const Shape& shape) {
  const Shape in_shape = x.shape();
  return record("expand", x.value().expand(shape), {x}, [in_shape](const Tensor& g) { return Grads{k::sum_to_shape(g, in_shape)}; },
                [in_shape](const Var& g, const Vars&) { return Vars{sum_to_shape(g, in_shape)}; });
}

Var unsqueeze(const Var& x, int64_t dim) {
  const Tensor y = x.value().unsqueeze(dim);
  const int64_t d = wrap_dim(dim, y.dim(), "unsqueeze");
  return record("unsqueeze", y, {x}, [d](const Tensor& g) { return Grads{g.squeeze(d)}; },
                [d](const Var& g, const Vars&) { return Vars{squeeze(g, d)}; });
}

Var squeeze(const Var& x, int64_t dim) {
  const int64_t d = wrap_dim(dim, x.dim(), "squeeze");
  return record("squeeze", x.value().squeeze(d), {x}, [d](const Tensor& g) { return Grads{g.unsqueeze(d)}; },
                [d](const Var& g, const Vars&) { return Vars{unsqueeze(g, d)}; });
}

Var contiguous(const Var& x) {
  return record("contiguous", x.value().contiguous(), {x}, [](const Tensor& g) { return Grads{g}; },
                [](const Var& g, const Vars&) { return Vars{g}; });
}

// y = [x0, x1, ...] along dim; dxi = the matching slab of dy.
Var cat(const std::vector<Var>& xs, int64_t dim) {
  ROTOR_CHECK(!xs.empty(), "cat: no inputs");
  const int64_t d = wrap_dim(dim, xs[0].dim(), "cat");
  Shape out_shape = xs[0].shape();
  out_shape[d] = 0;
  DType dt = xs[0].dtype();
  for (const Var& x : xs) {
    ROTOR_CHECK(x.dim() == xs[0].dim(), "cat: inputs ", shape_str(xs[0].shape()), " and ", shape_str(x.shape()),
                " differ in rank");
    for (int64_t i = 0; i < x.dim(); ++i)
      ROTOR_CHECK(i == d || x.size(i) == xs[0].size(i), "cat: inputs ", shape_str(xs[0].shape()), " and ",
                  shape_str(x.shape()), " differ outside dimension ", d);
    out_shape[d] += x.size(d);
    if (x.dtype() == DType::f64) dt = DType::f64;
  }
  Tensor out = Tensor::empty(out_shape, dt);
  std::vector<int64_t> sizes;
  int64_t at = 0;
  for (const Var& x : xs) {
    out.narrow(d, at, x.size(d)).copy_(x.value());
    sizes.push_back(x.size(d));
    at += x.size(d);
  }
  return record("cat", out, xs, [d, sizes](const Tensor& g) {
    Grads grads;
    int64_t pos = 0;
    for (int64_t n : sizes) {
      grads.push_back(g.narrow(d, pos, n));
      pos += n;
    }
    return grads;
  }, [d, sizes](const Var& g, const Vars&) {
    Vars grads;
    int64_t pos = 0;
    for (int64_t n : sizes) {
      grads.push_back(narrow(g, d, pos, n));
      pos += n;
    }
    return grads;
  });
}

Var stack(const std::vector<Var>& xs, int64_t dim) {
  ROTOR_CHECK(!xs.empty(), "stack: no inputs");
  const int64_t d = wrap_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Var> expanded;
  for (const Var& x : xs) {
    ROTOR_CHECK(x.shape() == xs[0].shape(), "stack: inputs ", shape_str(xs[0].shape()), " and ",
                shape_str(x.shape()), " differ in shape");
    expanded.push_back(unsqueeze(x, d));
  }
  return cat(expanded, d);
}

std::vector<Var> split(const Var& x, int64_t size, int64_t dim) {
  ROTOR_CHECK(size > 0, "split: piece size must be positive, got ", size);
  const int64_t d = wrap_dim(dim, x.dim(), "split");
  std::vector<Var> out;
  for (int64_t at = 0; at < x.size(d); at += size) out.push_back(slice(x, d, at, std::min(at + size, x.size(d))));
  return out;
}

std::vector<Var> chunk(const Var& x, int64_t chunks, int64_t dim) {
  ROTOR_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
  const int64_t n = x.size(dim);
  return split(x, std::max<int64_t>(1, (n + chunks - 1) / chunks), dim);
}

void register_view_gradchecks(GradcheckRegistry& r) {
  // Each view is followed by a multiplication with a fixed pattern so that the gradient layout matters.
  r.add({"reshape", "split and merge", {{{2, 3, 4}}, {{6, 4}}}, [](const VarList& in) { return reshape(in[0], {4, -1, 2}); }});
  r.add({"flatten", "inner dims", {{{2, 3, 4}}, {{3, 1, 2, 2}}}, [](const VarList& in) { return flatten(in[0], 1); }});
  r.add({"transpose", "last two", {{{2, 3, 4}}, {{3, 5}}}, [](const VarList& in) { return transpose(in[0], 0, -1); }});
  r.add({"permute", "3-d", {{{2, 3, 4}}, {{1, 5, 2}}}, [](const VarList& in) { return permute(in[0], {2, 0, 1}); }});
  r.add({"slice", "stepped", {{{5, 6}}, {{3, 7, 2}}}, [](const VarList& in) { return slice(in[0], 1, 1, -1, 2); }});
  r.add({"select", "middle", {{{3, 4, 2}}, {{1, 2, 5}}}, [](const VarList& in) { return select(in[0], 1, -2); }});
  r.add({"expand", "broadcast", {{{3, 1}}, {{1}}}, [](const VarList& in) {
           return expand(in[0], in[0].dim() == 2 ? Shape{2, 3, 4} : Shape{5});
         }});
  r.add({"unsqueeze", "middle", {{{3, 4}}, {{5}}}, [](const VarList& in) { return unsqueeze(in[0], 1); }});
  r.add({"squeeze", "middle", {{{3, 1, 4}}, {{2, 1}}}, [](const VarList& in) { return squeeze(in[0], 1); }});
  r.add({"contiguous", "copy", {{{3, 4}}, {{2, 3, 2}}}, [](const VarList& in) { return contiguous(in[0]); }});
  r.add({"cat", "three inputs", {{{2, 3}, {2, 1}, {2, 4}}, {{3, 1, 2}, {3, 2, 2}, {3, 1, 2}}}, [](const VarList& in) { return cat(in, 1); }});
  r.add({"stack", "new middle dim", {{{2, 3}, {2, 3}}, {{4}, {4}}}, [](const VarList& in) { return stack(in, 1); }});
  r.add({"split", "uneven pieces", {{{5, 3}}, {{6}}}, [](const VarList& in) {
           auto parts = split(in[0], 2, 0);
           return cat({parts[2], parts[0]}, 0);
         }});
}

}  // namespace rotor::autograd
