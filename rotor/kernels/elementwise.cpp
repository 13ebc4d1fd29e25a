#include "rotor/kernels/elementwise.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <type_traits>
#include <vector>

#include "rotor/kernels/activations.h"
#include "rotor/kernels/vector_math.h"
#include "rotor/core/strided_loop.h"

namespace rotor::kernels {

using detail::make_plan_in_memory_order;
using detail::strided_for;

namespace {


Tensor converted(const Tensor& t, DType dt) { return t.dtype() == dt ? t : t.to(dt); }

// out[i] = f(x[i]) over out's shape (x broadcasts to it). The run functions are flattened: f and the math
// it calls are inlined into the loops (GCC otherwise left vec::exp & co. as calls in some instantiations,
// keeping them scalar: a sigmoid backward ran 20x slower than its forward). Only the run functions: a
// flattened map would inline the whole strided walk too, which took GCC over 20 minutes under ASan.
template <class TO, class TX, class F>
void map1(const Tensor& x, Tensor& out, F f) {
  const Tensor xe = x.expand(out.shape());
  const auto plan = make_plan_in_memory_order<2>(out.shape(), {out.strides(), xe.strides()});
  TO* o = static_cast<TO*>(out.raw_data());
  const TX* xp = static_cast<const TX*>(xe.raw_data());
  strided_for(plan, {0, 0}, [&](int64_t n, const std::array<int64_t, 2>& off, const std::array<int64_t, 2>& st)
                                 __attribute__((flatten)) {
    TO* op = o + off[0];
    const TX* xq = xp + off[1];
    if (st[0] == 1 && st[1] == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) op[i] = f(xq[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) op[i * st[0]] = f(xq[i * st[1]]);
    }
  });
}

// out[i] = f(a[i], b[i]) over out's shape.
template <class TO, class TI, class F>
void map2(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const Tensor ae = a.expand(out.shape()), be = b.expand(out.shape());
  const auto plan = make_plan_in_memory_order<3>(out.shape(), {out.strides(), ae.strides(), be.strides()});
  TO* o = static_cast<TO*>(out.raw_data());
  const TI* ap = static_cast<const TI*>(ae.raw_data());
  const TI* bp = static_cast<const TI*>(be.raw_data());
  strided_for(plan, {0, 0, 0}, [&](int64_t n, const std::array<int64_t, 3>& off, const std::array<int64_t, 3>& st)
                                    __attribute__((flatten)) {
    TO* op = o + off[0];
    const TI* aq = ap + off[1];
    const TI* bq = bp + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) op[i] = f(aq[i], bq[i]);
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
      const TI bv = bq[0];
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) op[i] = f(aq[i], bv);
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      const TI av = aq[0];
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) op[i] = f(av, bq[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) op[i * st[0]] = f(aq[i * st[1]], bq[i * st[2]]);
    }
  });
}

template <class T>
T sigmoid_of(T x) {
  return math_of<T>::sigmoid(x);
}

// GELU (both forms) and SiLU run on the activation kernels that the transformer uses
// (kernels/activations.h): value, or with dy the input gradient dy * act'(x). out: contiguous, x's shape.
template <class T>
void activation_unary(UnaryOp op, const Tensor& x, const Tensor* dy, Tensor& out) {
  const Activation act = op == UnaryOp::gelu_erf    ? Activation::gelu_erf
                         : op == UnaryOp::gelu_tanh ? Activation::gelu_tanh
                                                    : Activation::silu;
  if (!out.is_contiguous()) {  // laid out like its inputs (output_like): the kernels run in memory order
    ROTOR_CHECK(x.strides() == out.strides() && (!dy || dy->strides() == out.strides()),
                "activation: output and inputs differ in layout");
    if (!dy) return activation_forward<T>(act, out.data<T>(), x.data<T>(), out.numel());
    std::fill_n(out.data<T>(), out.numel(), T(0));  // the backward kernel adds
    return activation_backward<T>(act, out.data<T>(), dy->data<T>(), x.data<T>(), out.numel());
  }
  const Tensor xc = x.expand(out.shape()).contiguous();
  if (!dy) {
    activation_forward<T>(act, out.data<T>(), xc.data<T>(), out.numel());
    return;
  }
  const Tensor gc = dy->expand(out.shape()).contiguous();
  std::fill_n(out.data<T>(), out.numel(), T(0));  // the backward kernel adds
  activation_backward<T>(act, out.data<T>(), gc.data<T>(), xc.data<T>(), out.numel());
}

template <class T>
void unary_typed(UnaryOp op, const Tensor& x, Tensor& out) {
  switch (op) {
    case UnaryOp::neg: return map1<T, T>(x, out, [](T v) { return -v; });
    case UnaryOp::exp: return map1<T, T>(x, out, [](T v) { return math_of<T>::exp(v); });
    case UnaryOp::log: return map1<T, T>(x, out, [](T v) { return std::log(v); });
    case UnaryOp::sqrt: return map1<T, T>(x, out, [](T v) { return std::sqrt(v); });
    case UnaryOp::rsqrt: return map1<T, T>(x, out, [](T v) { return T(1) / std::sqrt(v); });
    case UnaryOp::tanh: return map1<T, T>(x, out, [](T v) { return math_of<T>::tanh(v); });
    case UnaryOp::sigmoid: return map1<T, T>(x, out, [](T v) { return sigmoid_of(v); });
    case UnaryOp::relu: return map1<T, T>(x, out, [](T v) { return v > T(0) ? v : T(0); });
    case UnaryOp::gelu_erf:
    case UnaryOp::gelu_tanh:
    case UnaryOp::silu: return activation_unary<T>(op, x, nullptr, out);
    case UnaryOp::abs: return map1<T, T>(x, out, [](T v) { return std::abs(v); });
    case UnaryOp::square: return map1<T, T>(x, out, [](T v) { return v * v; });
    case UnaryOp::reciprocal: return map1<T, T>(x, out, [](T v) { return T(1) / v; });
    case UnaryOp::sin: return map1<T, T>(x, out, [](T v) { return std::sin(v); });
    case UnaryOp::cos: return map1<T, T>(x, out, [](T v) { return std::cos(v); });
    case UnaryOp::sign: return map1<T, T>(x, out, [](T v) { return T((v > T(0)) - (v < T(0))); });
  }
}

template <class T>
void unary_backward_typed(UnaryOp op, const Tensor& x, const Tensor& dy, Tensor& out) {
  switch (op) {
    case UnaryOp::neg: return map2<T, T>(x, dy, out, [](T, T g) { return -g; });
    case UnaryOp::exp: return map2<T, T>(x, dy, out, [](T v, T g) { return g * math_of<T>::exp(v); });
    case UnaryOp::log: return map2<T, T>(x, dy, out, [](T v, T g) { return g / v; });
    case UnaryOp::sqrt: return map2<T, T>(x, dy, out, [](T v, T g) { return g * T(0.5) / std::sqrt(v); });
    case UnaryOp::rsqrt:
      return map2<T, T>(x, dy, out, [](T v, T g) { return g * T(-0.5) / (v * std::sqrt(v)); });
    case UnaryOp::tanh:
      return map2<T, T>(x, dy, out, [](T v, T g) {
        const T t = math_of<T>::tanh(v);
        return g * (T(1) - t * t);
      });
    case UnaryOp::sigmoid:
      return map2<T, T>(x, dy, out, [](T v, T g) {
        const T s = sigmoid_of(v);
        return g * s * (T(1) - s);
      });
    case UnaryOp::relu: return map2<T, T>(x, dy, out, [](T v, T g) { return v > T(0) ? g : T(0); });
    case UnaryOp::gelu_erf:
    case UnaryOp::gelu_tanh:
    case UnaryOp::silu: return activation_unary<T>(op, x, &dy, out);
    case UnaryOp::abs: return map2<T, T>(x, dy, out, [](T v, T g) { return g * T((v > T(0)) - (v < T(0))); });
    case UnaryOp::square: return map2<T, T>(x, dy, out, [](T v, T g) { return g * T(2) * v; });
    case UnaryOp::reciprocal: return map2<T, T>(x, dy, out, [](T v, T g) { return -g / (v * v); });
    case UnaryOp::sin: return map2<T, T>(x, dy, out, [](T v, T g) { return g * std::cos(v); });
    case UnaryOp::cos: return map2<T, T>(x, dy, out, [](T v, T g) { return -g * std::sin(v); });
    case UnaryOp::sign: return map2<T, T>(x, dy, out, [](T, T) { return T(0); });
  }
}

template <class T>
void binary_typed(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  switch (op) {
    case BinaryOp::add: return map2<T, T>(a, b, out, [](T x, T y) { return x + y; });
    case BinaryOp::sub: return map2<T, T>(a, b, out, [](T x, T y) { return x - y; });
    case BinaryOp::mul: return map2<T, T>(a, b, out, [](T x, T y) { return x * y; });
    case BinaryOp::div: return map2<T, T>(a, b, out, [](T x, T y) { return x / y; });
    case BinaryOp::pow: return map2<T, T>(a, b, out, [](T x, T y) { return std::pow(x, y); });
    case BinaryOp::maximum: return map2<T, T>(a, b, out, [](T x, T y) { return x > y || std::isnan(x) ? x : y; });
    case BinaryOp::minimum: return map2<T, T>(a, b, out, [](T x, T y) { return x < y || std::isnan(x) ? x : y; });
  }
}

template <class T>
void compare_typed(CompareOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  using U = uint8_t;
  switch (op) {
    case CompareOp::eq: return map2<U, T>(a, b, out, [](T x, T y) { return U(x == y); });
    case CompareOp::ne: return map2<U, T>(a, b, out, [](T x, T y) { return U(x != y); });
    case CompareOp::lt: return map2<U, T>(a, b, out, [](T x, T y) { return U(x < y); });
    case CompareOp::le: return map2<U, T>(a, b, out, [](T x, T y) { return U(x <= y); });
    case CompareOp::gt: return map2<U, T>(a, b, out, [](T x, T y) { return U(x > y); });
    case CompareOp::ge: return map2<U, T>(a, b, out, [](T x, T y) { return U(x >= y); });
  }
}

Tensor scalar_like(double v, DType dt) { return Tensor::full({}, v, dt); }

}  // namespace

const char* unary_op_name(UnaryOp op) {
  static const char* names[] = {"neg",  "exp",    "log",      "sqrt", "rsqrt",  "tanh",       "sigmoid", "relu", "gelu_erf",
                                "gelu_tanh", "silu", "abs", "square", "reciprocal", "sin", "cos", "sign"};
  return names[static_cast<int>(op)];
}

DType compute_dtype(const Tensor& a) {
  ROTOR_CHECK(a.defined(), "elementwise: undefined tensor");
  return a.dtype() == DType::f64 ? DType::f64 : DType::f32;
}

DType compute_dtype(const Tensor& a, const Tensor& b) {
  return compute_dtype(a) == DType::f64 || compute_dtype(b) == DType::f64 ? DType::f64 : DType::f32;
}

namespace {

// A new output of `shape` laid out like the inputs when they all have that shape and one dense but
// permuted layout (transposed operands, say): the loops then walk memory in order, as PyTorch's do, instead
// of transposing on the fly. Otherwise (broadcasts, mixed layouts) a contiguous one.
Tensor output_like(const Shape& shape, DType dt, std::initializer_list<std::reference_wrapper<const Tensor>> inputs) {
  const Tensor* first = nullptr;
  for (const Tensor& t : inputs) {
    if (t.shape() != shape) return Tensor::empty(shape, dt);
    if (!first) first = &t;
    else if (t.strides() != first->strides()) return Tensor::empty(shape, dt);
  }
  if (!first || first->is_contiguous()) return Tensor::empty(shape, dt);
  const Shape& st = first->strides();
  const size_t n = shape.size();
  const std::vector<int64_t> order = detail::dims_by_decreasing_stride(st);
  int64_t dense = 1;  // the stride a dense layout has next
  for (size_t k = n; k-- > 0;) {
    const int64_t d = order[k];
    if (shape[d] == 1) continue;
    if (st[d] != dense) return Tensor::empty(shape, dt);
    dense *= shape[d];
  }
  Shape stored(n), back(n);
  for (size_t k = 0; k < n; ++k) {
    stored[k] = shape[order[k]];
    back[order[k]] = static_cast<int64_t>(k);
  }
  return Tensor::empty(stored, dt).permute(back);
}

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x_in) {
  const DType dt = compute_dtype(x_in);
  const Tensor x = converted(x_in, dt);
  Tensor out = output_like(x.shape(), dt, {x});
  if (dt == DType::f64) unary_typed<double>(op, x, out);
  else unary_typed<float>(op, x, out);
  return out;
}

Tensor unary_backward(UnaryOp op, const Tensor& x_in, const Tensor& dy_in) {
  const DType dt = compute_dtype(x_in, dy_in);
  const Tensor x = converted(x_in, dt), dy = converted(dy_in, dt);
  Tensor out = output_like(broadcast_shapes(x.shape(), dy.shape()), dt, {x, dy});
  if (dt == DType::f64) unary_backward_typed<double>(op, x, dy, out);
  else unary_backward_typed<float>(op, x, dy, out);
  return out;
}

void binary_into(BinaryOp op, const Tensor& a_in, const Tensor& b_in, Tensor& out) {
  const DType dt = out.dtype();
  ROTOR_CHECK(dt == DType::f32 || dt == DType::f64, "binary_into: output must be f32 or f64, got ", dtype_name(dt));
  const Shape shape = broadcast_shapes(a_in.shape(), b_in.shape());
  ROTOR_CHECK(broadcast_shapes(shape, out.shape()) == out.shape(), "binary_into: result of shape ", shape_str(shape),
              " does not fit output ", shape_str(out.shape()));
  const Tensor a = converted(a_in, dt), b = converted(b_in, dt);
  if (dt == DType::f64) binary_typed<double>(op, a, b, out);
  else binary_typed<float>(op, a, b, out);
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = output_like(broadcast_shapes(a.shape(), b.shape()), compute_dtype(a, b), {a, b});
  binary_into(op, a, b, out);
  return out;
}

Tensor copy(const Tensor& x) {
  if (x.dtype() != DType::f32 && x.dtype() != DType::f64) return x.clone();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  if (x.dtype() == DType::f64) map1<double, double>(x, out, [](double v) { return v; });
  else map1<float, float>(x, out, [](float v) { return v; });
  return out;
}

void add_(Tensor& dst, const Tensor& src) { binary_into(BinaryOp::add, dst, src, dst); }

Tensor add_scalar(const Tensor& x, double s) { return affine(x, 1.0, s); }
Tensor mul_scalar(const Tensor& x, double s) { return affine(x, s, 0.0); }

Tensor affine(const Tensor& x_in, double a, double b) {
  const DType dt = compute_dtype(x_in);
  const Tensor x = converted(x_in, dt);
  Tensor out = output_like(x.shape(), dt, {x});
  if (dt == DType::f64) {
    map1<double, double>(x, out, [a, b](double v) { return a * v + b; });
  } else {
    const float af = static_cast<float>(a), bf = static_cast<float>(b);
    map1<float, float>(x, out, [af, bf](float v) { return af * v + bf; });
  }
  return out;
}

Tensor pow_scalar(const Tensor& x_in, double p) {
  const DType dt = compute_dtype(x_in);
  const Tensor x = converted(x_in, dt);
  Tensor out = output_like(x.shape(), dt, {x});
  if (dt == DType::f64) map1<double, double>(x, out, [p](double v) { return std::pow(v, p); });
  else map1<float, float>(x, out, [pf = static_cast<float>(p)](float v) { return std::pow(v, pf); });
  return out;
}

Tensor clamp(const Tensor& x_in, double lo, double hi) {
  ROTOR_CHECK(!(lo > hi), "clamp: lower bound ", lo, " is above upper bound ", hi);
  const DType dt = compute_dtype(x_in);
  const Tensor x = converted(x_in, dt);
  Tensor out = output_like(x.shape(), dt, {x});
  if (dt == DType::f64) {
    map1<double, double>(x, out, [lo, hi](double v) { return v < lo ? lo : (v > hi ? hi : v); });
  } else {
    const float l = static_cast<float>(lo), h = static_cast<float>(hi);
    map1<float, float>(x, out, [l, h](float v) { return v < l ? l : (v > h ? h : v); });
  }
  return out;
}

Tensor clamp_backward(const Tensor& x_in, double lo, double hi, const Tensor& dy_in) {
  const DType dt = compute_dtype(x_in, dy_in);
  const Tensor x = converted(x_in, dt), dy = converted(dy_in, dt);
  Tensor out = output_like(broadcast_shapes(x.shape(), dy.shape()), dt, {x, dy});
  if (dt == DType::f64) {
    map2<double, double>(x, dy, out, [lo, hi](double v, double g) { return v >= lo && v <= hi ? g : 0.0; });
  } else {
    const float l = static_cast<float>(lo), h = static_cast<float>(hi);
    map2<float, float>(x, dy, out, [l, h](float v, float g) { return v >= l && v <= h ? g : 0.0f; });
  }
  return out;
}

Tensor bce_with_logits(const Tensor& x_in, const Tensor& t_in) {
  const DType dt = compute_dtype(x_in, t_in);
  const Tensor x = converted(x_in, dt), t = converted(t_in, dt);
  Tensor out = output_like(broadcast_shapes(x.shape(), t.shape()), dt, {x, t});
  if (dt == DType::f64) {
    map2<double, double>(x, t, out, [](double v, double target) {
      return std::max(v, 0.0) - v * target + std::log1p(std::exp(-std::abs(v)));
    });
  } else {
    // log1p(z) for z = exp(-|v|) in (0, 1] as 2 atanh(s), s = z / (2 + z) in (0, 1/3]: the odd series to
    // s^15 (truncation below 2e-9 relative), branch-free so that the loop vectorises (std::log1p does not)
    map2<float, float>(x, t, out, [](float v, float target) {
      const float z = math_of<float>::exp(-std::abs(v)), s = z / (2.0f + z), s2 = s * s;
      float p = 1.0f / 15;
      for (float c : {1.0f / 13, 1.0f / 11, 1.0f / 9, 1.0f / 7, 1.0f / 5, 1.0f / 3, 1.0f}) p = p * s2 + c;
      return std::max(v, 0.0f) - v * target + 2.0f * s * p;
    });
  }
  return out;
}

Tensor leaky_relu(const Tensor& x_in, double slope) {
  const DType dt = compute_dtype(x_in);
  const Tensor x = converted(x_in, dt);
  Tensor out = output_like(x.shape(), dt, {x});
  // branch-free (max + slope min) so that the loop vectorises; exact: one of the two terms is zero
  if (dt == DType::f64) {
    map1<double, double>(x, out, [slope](double v) { return std::max(v, 0.0) + slope * std::min(v, 0.0); });
  } else {
    const float a = static_cast<float>(slope);
    map1<float, float>(x, out, [a](float v) { return std::max(v, 0.0f) + a * std::min(v, 0.0f); });
  }
  return out;
}

Tensor leaky_relu_backward(const Tensor& x_in, double slope, const Tensor& dy_in) {
  const DType dt = compute_dtype(x_in, dy_in);
  const Tensor x = converted(x_in, dt), dy = converted(dy_in, dt);
  Tensor out = output_like(broadcast_shapes(x.shape(), dy.shape()), dt, {x, dy});
  if (dt == DType::f64) {
    map2<double, double>(x, dy, out, [slope](double v, double g) { return (v > 0 ? g : 0.0) + slope * (v > 0 ? 0.0 : g); });
  } else {
    const float a = static_cast<float>(slope);
    map2<float, float>(x, dy, out, [a](float v, float g) { return (v > 0 ? g : 0.0f) + a * (v > 0 ? 0.0f : g); });
  }
  return out;
}

Tensor compare(CompareOp op, const Tensor& a_in, const Tensor& b_in) {
  const DType dt = compute_dtype(a_in, b_in);
  const Tensor a = converted(a_in, dt), b = converted(b_in, dt);
  Tensor out = output_like(broadcast_shapes(a.shape(), b.shape()), DType::u8, {a, b});
  if (dt == DType::f64) compare_typed<double>(op, a, b, out);
  else compare_typed<float>(op, a, b, out);
  return out;
}

Tensor where(const Tensor& cond_in, const Tensor& a_in, const Tensor& b_in) {
  const Tensor cond = cond_in.dtype() == DType::u8 ? cond_in
                                                   : compare(CompareOp::ne, cond_in, scalar_like(0.0, DType::f64));
  const DType dt = compute_dtype(a_in, b_in);
  const Tensor a = converted(a_in, dt), b = converted(b_in, dt);
  const Shape shape = broadcast_shapes(broadcast_shapes(a.shape(), b.shape()), cond.shape());
  Tensor out = output_like(shape, dt, {cond, a, b});
  const Tensor ce = cond.expand(shape), ae = a.expand(shape), be = b.expand(shape);
  const auto plan = make_plan_in_memory_order<4>(shape, {out.strides(), ce.strides(), ae.strides(), be.strides()});
  auto run = [&](auto* o, auto* ap, auto* bp) {
    const uint8_t* cp = ce.data<uint8_t>();
    strided_for(plan, {0, 0, 0, 0},
                [&](int64_t n, const std::array<int64_t, 4>& off, const std::array<int64_t, 4>& st) {
                  auto* od = o + off[0];
                  const uint8_t* c = cp + off[1];
                  const auto* x = ap + off[2];
                  const auto* y = bp + off[3];
                  // dense runs (either value may be a broadcast scalar): both values are loaded and one
                  // selected, which vectorizes; a branch per element on what is often a random mask
                  // mispredicts half the time
                  if (st[0] == 1 && st[1] == 1 && st[2] <= 1 && st[3] <= 1) {
                    const int64_t sx = st[2], sy = st[3];
                    auto select = [&](auto x_step, auto y_step) {
#pragma omp simd
                      for (int64_t i = 0; i < n; ++i) {
                        const auto xv = x[i * x_step], yv = y[i * y_step];
                        od[i] = c[i] ? xv : yv;
                      }
                    };
                    using One = std::integral_constant<int64_t, 1>;
                    using Zero = std::integral_constant<int64_t, 0>;
                    if (sx == 1 && sy == 1) select(One{}, One{});
                    else if (sx == 1) select(One{}, Zero{});
                    else if (sy == 1) select(Zero{}, One{});
                    else select(Zero{}, Zero{});
                  } else {
                    for (int64_t i = 0; i < n; ++i) od[i * st[0]] = c[i * st[1]] ? x[i * st[2]] : y[i * st[3]];
                  }
                });
  };
  if (dt == DType::f64) run(out.data<double>(), ae.data<double>(), be.data<double>());
  else run(out.data<float>(), ae.data<float>(), be.data<float>());
  return out;
}

}  // namespace rotor::kernels
