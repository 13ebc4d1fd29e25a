#include "rotor/nn/nade.h"

#include "rotor/core/error.h"
#include "rotor/kernels/nade.h"

namespace rotor::nn {

using autograd::Var;
namespace k = rotor::kernels;

void check_permutation(const std::vector<int64_t>& order, int64_t D, const char* what) {
  ROTOR_CHECK(static_cast<int64_t>(order.size()) == D, what, ": ordering of ", order.size(), " inputs for ", D);
  std::vector<char> seen(static_cast<size_t>(D), 0);
  for (int64_t p : order) {
    ROTOR_CHECK(p >= 0 && p < D && !seen[static_cast<size_t>(p)], what, ": ordering is not a permutation of 0..",
                D - 1);
    seen[static_cast<size_t>(p)] = 1;
  }
}

namespace {
template <class T>
Var nade_typed(const std::vector<Var>& in, const std::vector<int64_t>& order, DType dt) {
  std::vector<Tensor> v;
  for (const Var& x : in) v.push_back(x.value().to(dt).contiguous());
  const int64_t N = in[0].size(0), D = in[0].size(1), H = in[1].size(1);
  Tensor y = Tensor::empty({N, D}, dt);
  k::nade_forward<T>(y.data<T>(), v[0].data<T>(), v[1].data<T>(), v[2].data<T>(), v[3].data<T>(), v[4].data<T>(),
                     order.data(), N, D, H);
  return autograd::record("nade_logits", y, in, [=](const Tensor& g_in) {
    const Tensor g = g_in.to(dt).contiguous();
    Tensor dx = Tensor::empty({N, D}, dt), dW = Tensor::zeros({D, H}, dt), dc = Tensor::zeros({H}, dt);
    Tensor dV = Tensor::zeros({D, H}, dt), db = Tensor::zeros({D}, dt);
    k::nade_backward<T>(dx.data<T>(), dW.data<T>(), dc.data<T>(), dV.data<T>(), db.data<T>(), g.data<T>(),
                        v[0].data<T>(), v[1].data<T>(), v[2].data<T>(), v[3].data<T>(), order.data(), N, D, H);
    return std::vector<Tensor>{dx, dW, dc, dV, db};
  });
}
}  // namespace

Var nade_logits(const Var& x, const Var& W, const Var& c, const Var& V, const Var& b,
                const std::vector<int64_t>& order) {
  ROTOR_CHECK(x.dim() == 2 && W.dim() == 2 && V.dim() == 2 && c.dim() == 1 && b.dim() == 1, "nade_logits: wants x [N, D], "
              "W and V [D, H], c [H], b [D]; got ", shape_str(x.shape()), ", ", shape_str(W.shape()));
  const int64_t D = x.size(1), H = W.size(1);
  ROTOR_CHECK(W.size(0) == D && V.size(0) == D && V.size(1) == H && c.size(0) == H && b.size(0) == D,
              "nade_logits: shapes x ", shape_str(x.shape()), ", W ", shape_str(W.shape()), ", c ", shape_str(c.shape()),
              ", V ", shape_str(V.shape()), ", b ", shape_str(b.shape()), " do not fit");
  check_permutation(order, D, "nade_logits");
  const DType dt = x.dtype();
  ROTOR_CHECK(dt == DType::f32 || dt == DType::f64, "nade_logits: wants f32 or f64 inputs");
  const std::vector<Var> in{x, W, c, V, b};
  return dt == DType::f64 ? nade_typed<double>(in, order, dt) : nade_typed<float>(in, order, dt);
}

}  // namespace rotor::nn
