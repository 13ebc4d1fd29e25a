#include "rotor/autograd/indexing.h"

#include <cstring>
#include <limits>

#include "rotor/autograd/gradcheck.h"
#include "rotor/kernels/elementwise.h"
#include "rotor/kernels/embedding.h"

namespace rotor::autograd {

namespace k = rotor::kernels;
using Grads = std::vector<Tensor>;

namespace {

Tensor checked_indices(const Tensor& index, int64_t limit, const char* what) {
  ROTOR_CHECK(index.defined() && (index.dtype() == DType::i64 || index.dtype() == DType::i32), what,
              ": indices must be an i64 or i32 tensor, got ", index.defined() ? dtype_name(index.dtype()) : "undefined");
  const Tensor idx = index.to(DType::i64);
  const int64_t* p = idx.data<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i)
    ROTOR_CHECK(p[i] >= 0 && p[i] < limit, what, ": index ", p[i], " at position ", i, " is out of range [0, ", limit, ")");
  return idx;
}


// Offsets for gather: for every element of index (row-major), the flat offset into contiguous x.
std::vector<int64_t> gather_offsets(const Shape& x_shape, const Tensor& idx, int64_t dim) {
  const Shape xs = contiguous_strides(x_shape);
  const Shape& is = idx.shape();
  const int64_t* p = idx.data<int64_t>();
  std::vector<int64_t> offs(static_cast<size_t>(idx.numel()));
  for (int64_t i = 0; i < idx.numel(); ++i) {
    int64_t r = i, off = 0;
    for (int64_t d = static_cast<int64_t>(is.size()) - 1; d >= 0; --d) {
      const int64_t c = r % is[d];
      r /= is[d];
      off += (d == dim ? p[i] : c) * xs[d];
    }
    offs[i] = off;
  }
  return offs;
}

}  // namespace

// y[..., :] = weight[ids[...], :];  dweight[v, :] = sum over positions with id v of dy[pos, :].
Var embedding(const Var& weight, const Tensor& ids_in) {
  ROTOR_CHECK(weight.dim() == 2, "embedding: weight must be [vocab, dim], got ", shape_str(weight.shape()));
  const int64_t V = weight.size(0), D = weight.size(1);
  const Tensor ids = checked_indices(ids_in, V, "embedding");
  const DType dt = weight.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor w = weight.value().to(dt);
  Shape out_shape = ids.shape();
  out_shape.push_back(D);
  Tensor out = Tensor::empty(out_shape, dt);
  const int64_t n = ids.numel();
  // the transformer's embedding kernels (rotor/kernels/embedding.h), which take int32 ids
  ROTOR_CHECK(V <= std::numeric_limits<int32_t>::max(), "embedding: vocabulary of ", V, " rows is too large");
  const Tensor ids32 = ids.to(DType::i32).contiguous();
  const Tensor wc = w.contiguous();
  if (dt == DType::f64) k::embedding_forward<double>(out.data<double>(), ids32.data<int32_t>(), wc.data<double>(), n, D, V);
  else k::embedding_forward<float>(out.data<float>(), ids32.data<int32_t>(), wc.data<float>(), n, D, V);
  return record("embedding", out, {weight}, [ids32, V, D, n, dt](const Tensor& g_in) {
    const Tensor g = g_in.dtype() == dt ? g_in.contiguous() : g_in.to(dt);
    Tensor dw = Tensor::zeros({V, D}, dt);
    if (dt == DType::f64) k::embedding_backward<double>(dw.data<double>(), g.data<double>(), ids32.data<int32_t>(), n, D);
    else k::embedding_backward<float>(dw.data<float>(), g.data<float>(), ids32.data<int32_t>(), n, D);
    return Grads{dw};
  });
}

Var index_select(const Var& x, int64_t dim, const Tensor& index) {
  ROTOR_CHECK(index.defined() && index.dim() == 1, "index_select: index must be 1-D, got ",
              index.defined() ? shape_str(index.shape()) : "undefined");
  const int64_t d = dim < 0 ? dim + x.dim() : dim;
  ROTOR_CHECK(d >= 0 && d < x.dim(), "index_select: dim ", dim, " out of range for shape ", shape_str(x.shape()));
  const Tensor idx = checked_indices(index, x.size(d), "index_select");
  const Tensor xv = x.value();
  Shape out_shape = xv.shape();
  out_shape[d] = idx.numel();
  Tensor out = Tensor::empty(out_shape, xv.dtype());
  const int64_t* p = idx.data<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i) {
    Tensor dst = out.select(d, i);
    dst.copy_(xv.select(d, p[i]));
  }
  const Shape in_shape = xv.shape();
  return record("index_select", out, {x}, [idx, d, in_shape](const Tensor& g) {
    Tensor dx = Tensor::zeros(in_shape, g.dtype());
    const int64_t* q = idx.data<int64_t>();
    for (int64_t i = 0; i < idx.numel(); ++i) {
      Tensor row = dx.select(d, q[i]);
      k::add_(row, g.select(d, i));
    }
    return Grads{dx};
  });
}

Var gather(const Var& x, int64_t dim, const Tensor& index) {
  const int64_t d = dim < 0 ? dim + x.dim() : dim;
  ROTOR_CHECK(d >= 0 && d < x.dim(), "gather: dim ", dim, " out of range for shape ", shape_str(x.shape()));
  ROTOR_CHECK(index.defined() && index.dim() == x.dim(), "gather: index must have the rank of x ",
              shape_str(x.shape()));
  for (int64_t i = 0; i < x.dim(); ++i)
    ROTOR_CHECK(i == d || index.size(i) <= x.size(i), "gather: index shape ", shape_str(index.shape()),
                " exceeds input shape ", shape_str(x.shape()), " in dimension ", i);
  const Tensor idx = checked_indices(index, x.size(d), "gather");
  const DType dt = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor xv = x.value().to(dt);
  const std::vector<int64_t> offs = gather_offsets(xv.shape(), idx, d);
  Tensor out = Tensor::empty(idx.shape(), dt);
  auto run = [&](const auto* src, auto* dst) {
    for (size_t i = 0; i < offs.size(); ++i) dst[i] = src[offs[i]];
  };
  if (dt == DType::f64) run(xv.data<double>(), out.data<double>());
  else run(xv.data<float>(), out.data<float>());
  const Shape in_shape = xv.shape();
  return record("gather", out, {x}, [offs, in_shape](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx = Tensor::zeros(in_shape, g.dtype());
    auto run_back = [&](const auto* gp, auto* dp) {
      for (size_t i = 0; i < offs.size(); ++i) dp[offs[i]] += gp[i];
    };
    if (g.dtype() == DType::f64) run_back(g.data<double>(), dx.data<double>());
    else run_back(g.data<float>(), dx.data<float>());
    return Grads{dx};
  });
}

void register_indexing_gradchecks(GradcheckRegistry& r) {
  r.add({"embedding", "repeated ids", {{{5, 3}}, {{6, 1}}}, [](const VarList& in) {
           return embedding(in[0], Tensor::from_vector(std::vector<int64_t>{4, 0, 2, 0, 1, 4}, {2, 3}));
         }});
  r.add({"index_select", "dim 1", {{{3, 4, 2}}, {{1, 5}}}, [](const VarList& in) {
           return index_select(in[0], 1, Tensor::from_vector(std::vector<int64_t>{3, 0, 3}, {3}));
         }});
  r.add({"gather", "dim 1", {{{3, 4}}, {{3, 5}}}, [](const VarList& in) {
           return gather(in[0], 1, Tensor::from_vector(std::vector<int64_t>{1, 1, 0, 3, 2, 2}, {3, 2}));
         }});
}

}  // namespace rotor::autograd
