#include "rotor/autograd/upsampling.h"

#include "rotor/autograd/conv.h"
#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/views.h"
#include "rotor/kernels/im2col.h"
#include "rotor/kernels/upsample.h"

namespace rotor::autograd {

namespace k = rotor::kernels;

Var pixel_shuffle(const Var& x, int64_t r) {
  ROTOR_CHECK(x.dim() == 4 && r > 0 && x.size(1) % (r * r) == 0, "pixel_shuffle: input ", shape_str(x.shape()),
              " must be [N, C r^2, H, W] for r = ", r);
  const int64_t N = x.size(0), C = x.size(1) / (r * r), H = x.size(2), W = x.size(3);
  Var v = reshape(x, {N, C, r, r, H, W});
  return reshape(permute(v, {0, 1, 4, 2, 5, 3}), {N, C, H * r, W * r});  // [N, C, H, r, W, r]
}

Var pixel_unshuffle(const Var& x, int64_t r) {
  ROTOR_CHECK(x.dim() == 4 && r > 0 && x.size(2) % r == 0 && x.size(3) % r == 0, "pixel_unshuffle: input ",
              shape_str(x.shape()), " must be [N, C, H r, W r] for r = ", r);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2) / r, W = x.size(3) / r;
  Var v = reshape(x, {N, C, H, r, W, r});
  return reshape(permute(v, {0, 1, 3, 5, 2, 4}), {N, C * r * r, H, W});  // [N, C, r, r, H, W]
}

namespace {

DType compute_dtype(const Var& x) { return x.dtype() == DType::f64 ? DType::f64 : DType::f32; }

template <class T>
Var bilinear_typed(const Var& x, const Tensor& xv, std::array<int64_t, 2> size, bool ac) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), OH = size[0], OW = size[1];
  const DType dt = xv.dtype();
  Tensor y = Tensor::empty({N, C, OH, OW}, dt);
  k::upsample_bilinear2d_forward<T>(y.data<T>(), xv.data<T>(), N * C, H, W, OH, OW, ac);
  return record("upsample_bilinear2d", y, {x}, [=](const Tensor& dy_in) {
    const Tensor dy = dy_in.to(dt);
    Tensor dx = Tensor::empty({N, C, H, W}, dt);
    k::upsample_bilinear2d_backward<T>(dx.data<T>(), dy.data<T>(), N * C, H, W, OH, OW, ac);
    return std::vector<Tensor>{dx};
  });
}

template <class T>
Var unpool_typed(const Var& x, const Tensor& xv, const Tensor& idx, std::array<int64_t, 2> size) {
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3), OL = size[0] * size[1];
  const DType dt = xv.dtype();
  Tensor y = Tensor::empty({N, C, size[0], size[1]}, dt);
  k::max_unpool2d_forward<T>(y.data<T>(), xv.data<T>(), idx.data<int32_t>(), N * C, L, OL);
  return record("max_unpool2d", y, {x}, [=](const Tensor& dy_in) {
    const Tensor dy = dy_in.to(dt);
    Tensor dx = Tensor::empty(xv.shape(), dt);
    k::max_unpool2d_backward<T>(dx.data<T>(), dy.data<T>(), idx.data<int32_t>(), N * C, L, OL);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

Var upsample_bilinear2d(const Var& x, std::array<int64_t, 2> size, bool align_corners) {
  ROTOR_CHECK(x.dim() == 4 && size[0] > 0 && size[1] > 0, "upsample_bilinear2d: input ", shape_str(x.shape()),
              " must be [N, C, H, W] and the size positive");
  const Tensor xv = x.value().to(compute_dtype(x));
  return xv.dtype() == DType::f64 ? bilinear_typed<double>(x, xv, size, align_corners)
                                  : bilinear_typed<float>(x, xv, size, align_corners);
}

PoolWithIndices max_pool2d_with_indices(const Var& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride) {
  PoolWithIndices r{max_pool2d(x, kernel, stride), Tensor()};
  // the indices again from the kernel (max_pool2d keeps its own inside its backward)
  k::Conv2dGeometry g{1, x.size(2), x.size(3), kernel[0], kernel[1], stride[0] > 0 ? stride[0] : kernel[0],
                      stride[1] > 0 ? stride[1] : kernel[1]};
  const Tensor xv = x.value().to(compute_dtype(x));
  Tensor y = Tensor::empty(r.output.shape(), xv.dtype());
  r.indices = Tensor::empty(r.output.shape(), DType::i32);
  const int64_t planes = x.size(0) * x.size(1);
  if (xv.dtype() == DType::f64) k::max_pool2d_forward<double>(y.data<double>(), r.indices.data<int32_t>(), xv.data<double>(), planes, g);
  else k::max_pool2d_forward<float>(y.data<float>(), r.indices.data<int32_t>(), xv.data<float>(), planes, g);
  return r;
}

Var max_unpool2d(const Var& x, const Tensor& indices, std::array<int64_t, 2> size) {
  ROTOR_CHECK(x.dim() == 4 && indices.shape() == x.shape() && indices.dtype() == DType::i32, "max_unpool2d: input ",
              shape_str(x.shape()), " and i32 indices ", shape_str(indices.shape()), " must be the same [N, C, H, W]");
  const Tensor idx = indices.contiguous();
  const int64_t OL = size[0] * size[1];
  const int32_t* p = idx.data<int32_t>();
  for (int64_t i = 0; i < idx.numel(); ++i)
    ROTOR_CHECK(p[i] >= 0 && p[i] < OL, "max_unpool2d: index ", p[i], " outside the ", size[0], "x", size[1], " output");
  const Tensor xv = x.value().to(compute_dtype(x));
  return xv.dtype() == DType::f64 ? unpool_typed<double>(x, xv, idx, size) : unpool_typed<float>(x, xv, idx, size);
}

void register_upsampling_gradchecks(GradcheckRegistry& r) {
  r.add({"pixel_shuffle", "r 2 and 3", {{{2, 8, 2, 3}}, {{1, 9, 2, 2}}},
         [](const VarList& in) { return pixel_shuffle(in[0], in[0].size(1) == 8 ? 2 : 3); }});
  r.add({"pixel_unshuffle", "r 2 and 3", {{{2, 2, 4, 6}}, {{1, 3, 6, 3}}},
         [](const VarList& in) { return pixel_unshuffle(in[0], in[0].size(1) == 2 ? 2 : 3); }});
  for (bool ac : {false, true})
    r.add(GradcheckCase{"upsample_bilinear2d", ac ? "align_corners" : "half-pixel", {{{2, 2, 3, 4}}, {{1, 3, 5, 5}}},
           [ac](const VarList& in) {
             return in[0].size(2) == 3 ? upsample_bilinear2d(in[0], {7, 8}, ac) : upsample_bilinear2d(in[0], {3, 2}, ac);
         }}.with_kernels({"upsample_bilinear2d_backward"}));
  // the pooled positions and the unpooled size follow the input: 2x2 windows over [.., 4, 6] and 3x3
  // windows over [.., 6, 3]
  r.add(GradcheckCase{"max_unpool2d", "after 2x2 and 3x3 pooling", {{{2, 3, 4, 6}}, {{1, 2, 6, 3}}},
                      [](const VarList& in) {
                        const int64_t k = in[0].size(2) == 4 ? 2 : 3;
                        const PoolWithIndices p = max_pool2d_with_indices(in[0], {k, k});
                        return max_unpool2d(p.output, p.indices, {in[0].size(2), in[0].size(3)});
                      },
                      InputDomain::distinct}
            .with_kernels({"max_unpool2d_backward"}));
}

}  // namespace rotor::autograd
