#include "rotor/kernels/matmul_f64.h"

namespace rotor::kernels {

Tensor matmul_f64(const Tensor& a_in, const Tensor& b_in) {
  ROTOR_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, "matmul_f64: operands must have at least one dimension, got ",
              shape_str(a_in.shape()), " and ", shape_str(b_in.shape()));
  ROTOR_CHECK(a_in.dtype() == DType::f64 && b_in.dtype() == DType::f64, "matmul_f64: operands must be f64, got ",
              dtype_name(a_in.dtype()), " and ", dtype_name(b_in.dtype()));
  const bool a_vec = a_in.dim() == 1, b_vec = b_in.dim() == 1;
  const Tensor a = a_vec ? a_in.unsqueeze(0) : a_in;
  const Tensor b = b_vec ? b_in.unsqueeze(1) : b_in;
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  ROTOR_CHECK(b.size(-2) == K, "matmul_f64: shapes ", shape_str(a_in.shape()), " and ", shape_str(b_in.shape()),
              " do not match (", K, " vs ", b.size(-2), ")");
  const Shape batch_shape = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                             Shape(b.shape().begin(), b.shape().end() - 2));
  const int64_t batch = shape_numel(batch_shape);
  Shape af = batch_shape, bf = batch_shape, out_shape = batch_shape;
  af.insert(af.end(), {M, K});
  bf.insert(bf.end(), {K, N});
  out_shape.insert(out_shape.end(), {M, N});
  const Tensor ac = a.expand(af).contiguous(), bc = b.expand(bf).contiguous();
  Tensor out = Tensor::zeros(out_shape, DType::f64);
  const double* ap = ac.data<double>();
  const double* bp = bc.data<double>();
  double* op = out.data<double>();
  for (int64_t t = 0; t < batch; ++t)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) {
        const double av = ap[(t * M + i) * K + k];
        for (int64_t j = 0; j < N; ++j) op[(t * M + i) * N + j] += av * bp[(t * K + k) * N + j];
      }
  Shape result = batch_shape;
  if (!a_vec) result.push_back(M);
  if (!b_vec) result.push_back(N);
  return out.view(result);
}

}  // namespace rotor::kernels
