#include "rotor/autograd/conv.h"

#include <functional>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/views.h"
#include "rotor/kernels/conv.h"
#include "rotor/kernels/im2col.h"

namespace rotor::autograd {

namespace k = rotor::kernels;

namespace {

k::Conv2dGeometry geometry(int64_t C, int64_t H, int64_t W, std::array<int64_t, 2> kernel, const Conv2dOptions& o,
                           const char* what) {
  k::Conv2dGeometry g{C, H, W, kernel[0], kernel[1], o.stride[0], o.stride[1],
                      o.padding[0], o.padding[1], o.dilation[0], o.dilation[1]};
  ROTOR_CHECK(g.KH > 0 && g.KW > 0 && g.SH > 0 && g.SW > 0 && g.DH > 0 && g.DW > 0 && g.PH >= 0 && g.PW >= 0, what,
              ": kernel, stride and dilation must be positive and padding non-negative");
  ROTOR_CHECK(g.out_h() > 0 && g.out_w() > 0, what, ": a ", g.KH, "x", g.KW, " kernel (dilation ", g.DH, "x", g.DW,
              ", padding ", g.PH, "x", g.PW, ") does not fit an image of ", H, "x", W);
  return g;
}

// Apply im2col (unfold) or col2im (fold) to every image of a batch.
template <class T>
void over_batch(bool unfold, const Tensor& src, Tensor& dst, int64_t N, const k::Conv2dGeometry& g) {
  const int64_t image = g.C * g.H * g.W, cols = g.C * g.KH * g.KW * g.out_h() * g.out_w();
  const T* s = src.data<T>();
  T* d = dst.data<T>();
#pragma omp parallel for schedule(static) if (N > 1 && N * cols >= (1 << 15))
  for (int64_t n = 0; n < N; ++n) {
    if (unfold) k::im2col<T>(s + n * image, g, d + n * cols);
    else k::col2im<T>(s + n * cols, g, d + n * image);
  }
}

Tensor unfold_tensor(const Tensor& x_in, int64_t N, const k::Conv2dGeometry& g) {
  const DType dt = x_in.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor x = x_in.dtype() == dt ? x_in.contiguous() : x_in.to(dt);
  Tensor cols = Tensor::empty({N, g.C * g.KH * g.KW, g.out_h() * g.out_w()}, dt);
  if (dt == DType::f64) over_batch<double>(true, x, cols, N, g);
  else over_batch<float>(true, x, cols, N, g);
  return cols;
}

Tensor fold_tensor(const Tensor& cols_in, int64_t N, const k::Conv2dGeometry& g) {
  const DType dt = cols_in.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor cols = cols_in.dtype() == dt ? cols_in.contiguous() : cols_in.to(dt);
  Tensor x = Tensor::zeros({N, g.C, g.H, g.W}, dt);
  if (dt == DType::f64) over_batch<double>(false, cols, x, N, g);
  else over_batch<float>(false, cols, x, N, g);
  return x;
}

std::array<int64_t, 2> default_stride(std::array<int64_t, 2> stride, std::array<int64_t, 2> kernel) {
  return {stride[0] > 0 ? stride[0] : kernel[0], stride[1] > 0 ? stride[1] : kernel[1]};
}

// The gradients of y = conv2d(x, w, b) (groups 1) as differentiable ops, for create_graph (WGAN-GP):
//   dx = conv_transpose2d(dy, w)  (the adjoint, output_padding restoring x's size),
//   dw = sum_n dy_n [O, L] · unfold(x)_n^T [L, C KH KW],   db = sum of dy over N, OH, OW.
// dy: [N, O, OH, OW], x: [N, C, H, W], w: [O, C, KH, KW].
std::vector<Var> conv2d_backward_graph(const Var& dy, const Var& x, const Var& w, bool has_bias, const Conv2dOptions& o,
                                       const k::Conv2dGeometry& g) {
  const int64_t N = dy.size(0), O = dy.size(1), L = g.out_h() * g.out_w();
  const std::array<int64_t, 2> output_padding{
      g.H - ((g.out_h() - 1) * g.SH - 2 * g.PH + g.DH * (g.KH - 1) + 1),
      g.W - ((g.out_w() - 1) * g.SW - 2 * g.PW + g.DW * (g.KW - 1) + 1)};
  const Var dx = conv_transpose2d(dy, w, Var(), o, output_padding);
  const Var dy3 = reshape(dy, {N, O, L});
  const Var cols = unfold2d(x, {g.KH, g.KW}, o);  // [N, C KH KW, L]
  const Var dw = reshape(sum(matmul(dy3, transpose(cols, 1, 2)), {0}), w.shape());
  std::vector<Var> grads{dx, dw};
  if (has_bias) grads.push_back(sum(dy3, {0, 2}));
  return grads;
}

// f32 on oneDNN's convolution primitives (kernels/conv.h): forward, and backward data and weights (bias).
Var conv2d_f32(const Var& x, const Var& weight, const Var& bias, const Conv2dOptions& o) {
  const int64_t N = x.size(0), O = weight.size(0);
  const k::Conv2dGeometry g = geometry(x.size(1), x.size(2), x.size(3), {weight.size(2), weight.size(3)}, o, "conv2d");
  const bool has_b = bias.defined();
  if (has_b)
    ROTOR_CHECK(bias.dim() == 1 && bias.size(0) == O, "conv2d: bias ", shape_str(bias.shape()), " for ", O, " outputs");
  const Tensor xv = x.value().contiguous(), wv = weight.value().contiguous();
  const Tensor bv = has_b ? bias.value().contiguous() : Tensor();
  Tensor y = Tensor::empty({N, O, g.out_h(), g.out_w()});
  k::conv2d_forward_f32(y.data<float>(), xv.data<float>(), wv.data<float>(), has_b ? bv.data<float>() : nullptr, N, O,
                        g);
  std::vector<Var> inputs{x, weight};
  if (has_b) inputs.push_back(bias);
  const bool need_dx = x.requires_grad();
  // frozen parameters (e.g. the critic's during a generator step) get no gradient: no weight pass
  const bool need_dw = weight.requires_grad() || (has_b && bias.requires_grad());
  return record("conv2d", y, inputs, [=](const Tensor& g_in) {
    const Tensor dy = g_in.to(DType::f32);  // contiguous
    Tensor dx = need_dx ? Tensor::empty(xv.shape()) : Tensor(), dw = need_dw ? Tensor::empty(wv.shape()) : Tensor();
    Tensor db = has_b && need_dw ? Tensor::empty({O}) : Tensor();
    if (need_dx) k::conv2d_backward_data_f32(dx.data<float>(), dy.data<float>(), wv.data<float>(), N, O, g);
    if (need_dw)
      k::conv2d_backward_weights_f32(dw.data<float>(), has_b ? db.data<float>() : nullptr, dy.data<float>(),
                                     xv.data<float>(), N, O, g);
    std::vector<Tensor> grads{dx, dw};
    if (has_b) grads.push_back(db);
    return grads;
  }, [o, g, has_b](const Var& dy, const std::vector<Var>& in) {
    return conv2d_backward_graph(dy, in[0], in[1], has_b, o, g);
  });
}

}  // namespace

// y = im2col(x); dx = col2im(dy).
Var unfold2d(const Var& x, std::array<int64_t, 2> kernel, const Conv2dOptions& o) {
  ROTOR_CHECK(x.dim() == 4, "unfold2d: input must be [N, C, H, W], got ", shape_str(x.shape()));
  const int64_t N = x.size(0);
  const k::Conv2dGeometry g = geometry(x.size(1), x.size(2), x.size(3), kernel, o, "unfold2d");
  return record("unfold2d", unfold_tensor(x.value(), N, g), {x},
                [N, g](const Tensor& dy) { return std::vector<Tensor>{fold_tensor(dy, N, g)}; },
                [kernel, o, g](const Var& dy, const std::vector<Var>&) {
                  return std::vector<Var>{fold2d(dy, {g.H, g.W}, kernel, o)};
                });
}

// y = col2im(cols); dcols = im2col(dy).
Var fold2d(const Var& cols, std::array<int64_t, 2> image, std::array<int64_t, 2> kernel, const Conv2dOptions& o) {
  ROTOR_CHECK(cols.dim() == 3, "fold2d: input must be [N, C*KH*KW, L], got ", shape_str(cols.shape()));
  const int64_t N = cols.size(0), kk = kernel[0] * kernel[1];
  ROTOR_CHECK(kk > 0 && cols.size(1) % kk == 0, "fold2d: ", cols.size(1), " rows are not channels x ", kernel[0], "x",
              kernel[1]);
  const k::Conv2dGeometry g = geometry(cols.size(1) / kk, image[0], image[1], kernel, o, "fold2d");
  ROTOR_CHECK(cols.size(2) == g.out_h() * g.out_w(), "fold2d: ", cols.size(2), " columns, the geometry gives ",
              g.out_h(), "x", g.out_w());
  return record("fold2d", fold_tensor(cols.value(), N, g), {cols},
                [N, g](const Tensor& dy) { return std::vector<Tensor>{unfold_tensor(dy, N, g)}; },
                [kernel, o](const Var& dy, const std::vector<Var>&) {
                  return std::vector<Var>{unfold2d(dy, kernel, o)};
                });
}

// Grouped convolution: the input channels, the weight's first dimension and the bias split into
// `groups` equal parts, each part convolved on its own, the outputs concatenated along channels.
static Var grouped(const Var& x, const Var& weight, const Var& bias, const Conv2dOptions& o, const char* what,
            const std::function<Var(const Var&, const Var&, const Var&, const Conv2dOptions&)>& one) {
  const int64_t G = o.groups;
  ROTOR_CHECK(x.dim() == 4 && weight.dim() == 4 && x.size(1) % G == 0 && weight.size(0) % G == 0, what, ": input ",
              shape_str(x.shape()), " and weight ", shape_str(weight.shape()), " do not split into ", G, " groups");
  Conv2dOptions single = o;
  single.groups = 1;
  const std::vector<Var> xs = split(x, x.size(1) / G, 1), ws = split(weight, weight.size(0) / G, 0);
  const std::vector<Var> bs = bias.defined() ? split(bias, bias.size(0) / G, 0) : std::vector<Var>(G);
  std::vector<Var> ys;
  for (int64_t g = 0; g < G; ++g) ys.push_back(one(xs[g], ws[g], bs[g], single));
  return cat(ys, 1);
}

Var conv2d(const Var& x, const Var& weight, const Var& bias, const Conv2dOptions& o) {
  ROTOR_CHECK(o.groups >= 1, "conv2d: groups must be >= 1, got ", o.groups);
  if (o.groups > 1) {
    ROTOR_CHECK(bias.defined() == false || (bias.dim() == 1 && bias.size(0) == weight.size(0)), "conv2d: bias ",
                shape_str(bias.shape()), " for ", weight.size(0), " outputs");
    return grouped(x, weight, bias, o, "conv2d", [](const Var& a, const Var& b, const Var& c, const Conv2dOptions& s) {
      return conv2d(a, b, c, s);
    });
  }
  ROTOR_CHECK(x.dim() == 4 && weight.dim() == 4 && x.size(1) == weight.size(1), "conv2d: input ",
              shape_str(x.shape()), " and weight ", shape_str(weight.shape()), " do not fit ([N, C, H, W], [O, C, KH, KW])");
  const int64_t N = x.size(0), O = weight.size(0);
  if (x.dtype() == DType::f32 && weight.dtype() == DType::f32 && (!bias.defined() || bias.dtype() == DType::f32))
    return conv2d_f32(x, weight, bias, o);
  // f64 (the gradient checks' reference): unfold and a GEMM
  Var cols = unfold2d(x, {weight.size(2), weight.size(3)}, o);           // [N, C KH KW, L]
  Var y = matmul(reshape(weight, {O, -1}), cols);                        // [N, O, L]
  if (bias.defined()) {
    ROTOR_CHECK(bias.dim() == 1 && bias.size(0) == O, "conv2d: bias ", shape_str(bias.shape()), " for ", O, " outputs");
    y = add(y, reshape(bias, {O, 1}));
  }
  const k::Conv2dGeometry g = geometry(x.size(1), x.size(2), x.size(3), {weight.size(2), weight.size(3)}, o, "conv2d");
  return reshape(y, {N, O, g.out_h(), g.out_w()});
}

Var conv1d(const Var& x, const Var& weight, const Var& bias, int64_t stride, int64_t padding, int64_t dilation) {
  ROTOR_CHECK(x.dim() == 3 && weight.dim() == 3, "conv1d: input ", shape_str(x.shape()), " and weight ",
              shape_str(weight.shape()), " must be [N, C, L] and [O, C, K]");
  Conv2dOptions o;
  o.stride = {1, stride};
  o.padding = {0, padding};
  o.dilation = {1, dilation};
  return squeeze(conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, o), 2);
}

namespace {
// y = conv_transpose2d(x, w, b) in f32 (groups 1) as the adjoint of the convolution of geometry g, which maps
// [N, Cout, OH, OW] to [N, Cin, H, W] with weight w [Cin, Cout, KH, KW] (conv2d's layout [O, C, KH, KW]):
//   y  = conv2d_backward_data(x)          (+ b per channel)
//   dx = conv2d(dy, w)                    dw = conv2d_backward_weights(dy_conv = x, x_conv = dy)
//   db = sum of dy over N, OH, OW.
// The backward as differentiable ops (create_graph): dx = conv2d(dy, w), dw = sum_n x_n [Cin, L] unfold(dy)_n^T.
Var conv_transpose2d_f32(const Var& x, const Var& weight, const Var& bias, const Conv2dOptions& o,
                         const k::Conv2dGeometry& g) {
  const int64_t N = x.size(0), Cin = x.size(1), Cout = g.C, planes = g.H * g.W;
  const bool has_b = bias.defined();
  const Tensor xv = x.value().contiguous(), wv = weight.value().contiguous();
  Tensor y = Tensor::empty({N, Cout, g.H, g.W});
  k::conv2d_backward_data_f32(y.data<float>(), xv.data<float>(), wv.data<float>(), N, Cin, g);
  if (has_b) {
    const Tensor bv = bias.value().contiguous();
    float* py = y.data<float>();
    const float* pb = bv.data<float>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < Cout; ++c) {
        float* row = py + (n * Cout + c) * planes;
        for (int64_t i = 0; i < planes; ++i) row[i] += pb[c];
      }
  }
  std::vector<Var> inputs{x, weight};
  if (has_b) inputs.push_back(bias);
  const bool need_dx = x.requires_grad();
  return record("conv_transpose2d", y, inputs, [=](const Tensor& g_in) {
    const Tensor dy = g_in.to(DType::f32).contiguous();
    Tensor dx = need_dx ? Tensor::empty(xv.shape()) : Tensor(), dw = Tensor::empty(wv.shape());
    if (need_dx) k::conv2d_forward_f32(dx.data<float>(), dy.data<float>(), wv.data<float>(), nullptr, N, Cin, g);
    k::conv2d_backward_weights_f32(dw.data<float>(), nullptr, xv.data<float>(), dy.data<float>(), N, Cin, g);
    std::vector<Tensor> grads{dx, dw};
    if (has_b) {
      Tensor db = Tensor::zeros({Cout});
      float* pdb = db.data<float>();
      const float* p = dy.data<float>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < Cout; ++c) {
          const float* row = p + (n * Cout + c) * planes;
          float s = 0;
          for (int64_t i = 0; i < planes; ++i) s += row[i];
          pdb[c] += s;
        }
      grads.push_back(db);
    }
    return grads;
  }, [o, g, has_b, N, Cin](const Var& dy, const std::vector<Var>& in) {
    const Var cols = unfold2d(dy, {g.KH, g.KW}, o);  // [N, Cout KH KW, L], L = H W of x
    const Var x3 = reshape(in[0], {N, Cin, -1});
    std::vector<Var> grads{conv2d(dy, in[1], Var(), o),
                           reshape(sum(matmul(x3, transpose(cols, 1, 2)), {0}), in[1].shape())};
    if (has_b) grads.push_back(sum(dy, {0, 2, 3}));
    return grads;
  });
}

}  // namespace

Var conv_transpose2d(const Var& x, const Var& weight, const Var& bias, const Conv2dOptions& o,
                     std::array<int64_t, 2> output_padding) {
  ROTOR_CHECK(o.groups >= 1, "conv_transpose2d: groups must be >= 1, got ", o.groups);
  if (o.groups > 1) {
    const int64_t G = o.groups;
    ROTOR_CHECK(bias.defined() == false || (bias.dim() == 1 && bias.size(0) == weight.size(1) * G),
                "conv_transpose2d: bias ", shape_str(bias.shape()), " for ", weight.size(1) * G, " outputs");
    return grouped(x, weight, bias, o, "conv_transpose2d",
                   [output_padding](const Var& a, const Var& b, const Var& c, const Conv2dOptions& s) {
                     return conv_transpose2d(a, b, c, s, output_padding);
                   });
  }
  ROTOR_CHECK(x.dim() == 4 && weight.dim() == 4 && x.size(1) == weight.size(0), "conv_transpose2d: input ",
              shape_str(x.shape()), " and weight ", shape_str(weight.shape()),
              " do not fit ([N, Cin, H, W], [Cin, Cout, KH, KW])");
  const int64_t N = x.size(0), Cin = x.size(1), H = x.size(2), W = x.size(3), Cout = weight.size(1);
  const int64_t KH = weight.size(2), KW = weight.size(3);
  for (int d = 0; d < 2; ++d)
    ROTOR_CHECK(output_padding[d] >= 0 && output_padding[d] < std::max(o.stride[d], o.dilation[d]),
                "conv_transpose2d: output_padding ", output_padding[d], " must be below stride or dilation");
  const int64_t OH = (H - 1) * o.stride[0] - 2 * o.padding[0] + o.dilation[0] * (KH - 1) + output_padding[0] + 1;
  const int64_t OW = (W - 1) * o.stride[1] - 2 * o.padding[1] + o.dilation[1] * (KW - 1) + output_padding[1] + 1;
  ROTOR_CHECK(OH > 0 && OW > 0, "conv_transpose2d: output size ", OH, "x", OW, " is empty");
  if (bias.defined())
    ROTOR_CHECK(bias.dim() == 1 && bias.size(0) == Cout, "conv_transpose2d: bias ", shape_str(bias.shape()), " for ",
                Cout, " outputs");
  // The adjoint convolution maps [N, Cout, OH, OW] back to [N, Cin, H, W]; when it does exactly (an
  // output_padding below the stride), f32 runs on oneDNN's convolution primitives.
  const k::Conv2dGeometry g = geometry(Cout, OH, OW, {KH, KW}, o, "conv_transpose2d");
  if (x.dtype() == DType::f32 && weight.dtype() == DType::f32 && (!bias.defined() || bias.dtype() == DType::f32) &&
      g.out_h() == H && g.out_w() == W)
    return conv_transpose2d_f32(x, weight, bias, o, g);
  // f64 (the gradient checks' reference) and the rest: a GEMM and fold2d
  Var wt = transpose(reshape(weight, {Cin, Cout * KH * KW}), 0, 1);     // [Cout KH KW, Cin]
  Var cols = matmul(wt, reshape(x, {N, Cin, H * W}));                   // [N, Cout KH KW, H W]
  Var y = fold2d(cols, {OH, OW}, {KH, KW}, o);                          // [N, Cout, OH, OW]
  if (bias.defined()) y = add(y, reshape(bias, {Cout, 1, 1}));
  return y;
}

namespace {
template <class T>
Var pool_typed(const Var& x, const Tensor& xv, const k::Conv2dGeometry& g, bool is_max) {
  const int64_t N = x.size(0), C = x.size(1), planes = N * C;
  const DType dt = xv.dtype();
  Tensor y = Tensor::empty({N, C, g.out_h(), g.out_w()}, dt);
  if (!is_max) {
    k::avg_pool2d_forward<T>(y.data<T>(), xv.data<T>(), planes, g);
    return record("avg_pool2d", y, {x}, [=](const Tensor& dy_in) {
      const Tensor dy = dy_in.to(dt);
      Tensor dx = Tensor::zeros(xv.shape(), dt);
      k::avg_pool2d_backward<T>(dx.data<T>(), dy.data<T>(), planes, g);
      return std::vector<Tensor>{dx};
    });
  }
  Tensor argmax = Tensor::empty(y.shape(), DType::i32);
  k::max_pool2d_forward<T>(y.data<T>(), argmax.data<int32_t>(), xv.data<T>(), planes, g);
  return record("max_pool2d", y, {x}, [=](const Tensor& dy_in) {
    const Tensor dy = dy_in.to(dt);
    Tensor dx = Tensor::zeros(xv.shape(), dt);
    k::max_pool2d_backward<T>(dx.data<T>(), dy.data<T>(), argmax.data<int32_t>(), planes, g);
    return std::vector<Tensor>{dx};
  });
}

// Max or average over kernel windows, one kernel pass each way (kernels/im2col.h).
Var pool(const Var& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride, bool is_max) {
  ROTOR_CHECK(x.dim() == 4, "pool2d: input must be [N, C, H, W], got ", shape_str(x.shape()));
  Conv2dOptions o;
  o.stride = default_stride(stride, kernel);
  const k::Conv2dGeometry g = geometry(1, x.size(2), x.size(3), kernel, o, "pool2d");
  const DType dt = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  const Tensor xv = x.value().to(dt);  // contiguous
  return dt == DType::f64 ? pool_typed<double>(x, xv, g, is_max) : pool_typed<float>(x, xv, g, is_max);
}
}  // namespace

Var max_pool2d(const Var& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride) {
  return pool(x, kernel, stride, true);
}
Var avg_pool2d(const Var& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride) {
  return pool(x, kernel, stride, false);
}

namespace {
template <class T>
Var upsample_typed(const Var& x, const Tensor& xv, std::array<int64_t, 2> f) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const DType dt = xv.dtype();
  Tensor y = Tensor::empty({N, C, H * f[0], W * f[1]}, dt);
  k::upsample_nearest2d_forward<T>(y.data<T>(), xv.data<T>(), N * C, H, W, f[0], f[1]);
  return record("upsample_nearest2d", y, {x}, [=](const Tensor& dy_in) {
    const Tensor dy = dy_in.to(dt);
    Tensor dx = Tensor::empty({N, C, H, W}, dt);
    k::upsample_nearest2d_backward<T>(dx.data<T>(), dy.data<T>(), N * C, H, W, f[0], f[1]);
    return std::vector<Tensor>{dx};
  });
}
}  // namespace

Var upsample_nearest2d(const Var& x, std::array<int64_t, 2> f) {
  ROTOR_CHECK(x.dim() == 4 && f[0] > 0 && f[1] > 0, "upsample_nearest2d: input ", shape_str(x.shape()),
              " must be [N, C, H, W] and factors positive");
  if (x.dtype() == DType::f64) return upsample_typed<double>(x, x.value().contiguous(), f);
  if (x.dtype() == DType::f32) return upsample_typed<float>(x, x.value().contiguous(), f);
  // other dtypes keep theirs: a broadcast view, copied by reshape
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  Var e = expand(reshape(x, {N, C, H, 1, W, 1}), {N, C, H, f[0], W, f[1]});
  return reshape(e, {N, C, H * f[0], W * f[1]});
}

void register_conv_gradchecks(GradcheckRegistry& r) {
  Conv2dOptions strided;
  strided.stride = {2, 1};
  strided.padding = {1, 2};
  strided.dilation = {1, 2};
  r.add({"unfold2d", "stride, padding, dilation", {{{2, 2, 5, 4}}, {{1, 3, 6, 5}}},
         [strided](const VarList& in) { return unfold2d(in[0], {3, 2}, strided); }});
  r.add({"fold2d", "stride, padding, dilation", {{{2, 12, 18}}, {{1, 6, 18}}},
         [strided](const VarList& in) { return fold2d(in[0], {5, 4}, {3, 2}, strided); }});
  r.add({"conv2d", "bias", {{{2, 3, 5, 4}, {4, 3, 3, 2}, {4}}},
         [strided](const VarList& in) { return conv2d(in[0], in[1], in[2], strided); }});
  r.add({"conv2d", "plain", {{{1, 2, 4, 4}, {3, 2, 2, 2}}}, [](const VarList& in) { return conv2d(in[0], in[1]); }});
  r.add({"conv2d", "groups 2, stride, dilation", {{{2, 4, 6, 5}, {6, 2, 3, 2}, {6}}, {{1, 6, 5, 5}, {3, 2, 2, 2}, {3}}},
         [](const VarList& in) {
           Conv2dOptions o;
           o.stride = {1, 2};
           o.padding = {1, 1};
           o.dilation = {2, 1};
           o.groups = in[0].size(1) == 4 ? 2 : 3;
           return conv2d(in[0], in[1], in[2], o);
         }});
  r.add({"conv_transpose2d", "groups 2", {{{2, 4, 3, 3}, {4, 3, 2, 2}, {6}}, {{1, 2, 2, 4}, {2, 3, 2, 2}, {6}}}, [](const VarList& in) {
           Conv2dOptions o;
           o.stride = {2, 1};
           o.groups = 2;
           return conv_transpose2d(in[0], in[1], in[2], o);
         }});
  r.add({"conv1d", "stride 2, padding", {{{2, 3, 7}, {2, 3, 3}, {2}}, {{1, 2, 6}, {3, 2, 2}, {3}}},
         [](const VarList& in) { return conv1d(in[0], in[1], in[2], 2, 1); }});
  r.add({"conv_transpose2d", "stride 2, output padding", {{{2, 3, 3, 2}, {3, 2, 3, 3}, {2}}, {{1, 2, 2, 3}, {2, 4, 3, 3}, {4}}}, [](const VarList& in) {
           Conv2dOptions o;
           o.stride = {2, 2};
           o.padding = {1, 0};
           return conv_transpose2d(in[0], in[1], in[2], o, {1, 0});
         }});
  r.add({"max_pool2d", "2x2", {{{2, 2, 4, 6}}, {{1, 3, 6, 4}}}, [](const VarList& in) { return max_pool2d(in[0], {2, 2}); },
         InputDomain::distinct});
  r.add({"avg_pool2d", "3x2 stride 1", {{{1, 2, 4, 4}}, {{2, 1, 5, 3}}},
         [](const VarList& in) { return avg_pool2d(in[0], {3, 2}, {1, 1}); }});
  r.add({"upsample_nearest2d", "2x3", {{{1, 2, 3, 2}}, {{2, 1, 2, 3}}}, [](const VarList& in) { return upsample_nearest2d(in[0], {2, 3}); }});
}

}  // namespace rotor::autograd
