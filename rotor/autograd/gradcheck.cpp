#include "rotor/autograd/gradcheck.h"

#include <algorithm>
#include <cmath>

#include "rotor/core/dtype.h"
#include "rotor/core/rng.h"

namespace rotor::autograd {

void GradcheckRegistry::add(GradcheckCase c) {
  ROTOR_CHECK(!c.op.empty() && c.fn && !c.shape_sets.empty(), "gradcheck: case '", c.op, "/", c.label,
              "' needs an op name, a function and at least one shape set");
  cases_.push_back(std::move(c));
}

std::vector<std::string> GradcheckRegistry::op_names() const {
  std::vector<std::string> names;
  for (const auto& c : cases_)
    if (std::find(names.begin(), names.end(), c.op) == names.end()) names.push_back(c.op);
  return names;
}

void GradcheckRegistry::add_kernels(const std::string& op, const std::vector<std::string>& kernels) {
  bool found = false;
  for (auto& c : cases_)
    if (c.op == op) {
      c.kernels.insert(c.kernels.end(), kernels.begin(), kernels.end());
      found = true;
    }
  ROTOR_CHECK(found, "gradcheck: no case of op '", op, "' to add kernels to");
}

std::vector<std::string> GradcheckRegistry::covered_kernels() const {
  std::vector<std::string> names;
  for (const auto& c : cases_)
    for (const auto& name : c.kernels)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  return names;
}

GradcheckRegistry& gradcheck_registry() {
  static GradcheckRegistry* registry = [] {
    auto* r = new GradcheckRegistry;
    register_arithmetic_gradchecks(*r);
    register_linalg_gradchecks(*r);
    register_reduction_gradchecks(*r);
    register_softmax_gradchecks(*r);
    register_view_gradchecks(*r);
    register_indexing_gradchecks(*r);
    register_loss_gradchecks(*r);
    register_normalization_gradchecks(*r);
    register_dropout_gradchecks(*r);
    register_attention_gradchecks(*r);
    register_fused_attention_gradchecks(*r);
    register_checkpoint_gradchecks(*r);
    register_conv_gradchecks(*r);
    register_upsampling_gradchecks(*r);
    register_kernel_gradchecks(*r);
    register_higher_order_gradchecks(*r);
    register_discrete_gradchecks(*r);
    return r;
  }();
  return *registry;
}

namespace {

std::vector<double> draw_values(int64_t n, InputDomain domain, Rng& rng) {
  std::vector<double> v(static_cast<size_t>(n));
  switch (domain) {
    case InputDomain::normal:
      for (auto& x : v) x = rng.normal();
      break;
    case InputDomain::positive:
      for (auto& x : v) x = 0.5 + 1.5 * rng.uniform();
      break;
    case InputDomain::away_from_zero:
      for (auto& x : v) x = (rng.uniform() < 0.5 ? -1 : 1) * (0.3 + 1.7 * rng.uniform());
      break;
    case InputDomain::distinct: {
      // Offsets in [0.013, 0.043] keep values of different tensors apart and away from +-0.05 (mod 0.1).
      const double offset = 0.013 + 0.03 * rng.uniform();
      for (int64_t i = 0; i < n; ++i) v[i] = 0.1 * static_cast<double>(i - n / 2) + offset;
      for (int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[rng.uniform_int(static_cast<uint64_t>(i + 1))]);
      break;
    }
  }
  return v;
}

// A tensor of `shape` holding `values`, laid out non-contiguously when possible: the last two dims
// stored transposed, or a 1-D tensor taken with step 2 from a buffer twice as long.
Tensor make_input(const Shape& shape, const std::vector<double>& values, bool non_contiguous) {
  const Tensor dense = Tensor::from_vector(values, shape);
  if (!non_contiguous || shape.empty()) return dense;
  Tensor view;
  if (shape.size() >= 2) {
    Shape storage_shape = shape;
    std::swap(storage_shape[shape.size() - 1], storage_shape[shape.size() - 2]);
    view = Tensor::zeros(storage_shape, DType::f64).transpose(-1, -2);
  } else {
    view = Tensor::zeros({shape[0] * 2}, DType::f64).slice(0, 0, shape[0] * 2, 2);
  }
  view.copy_(dense);
  return view;
}

double weighted_sum(const Tensor& y, const std::vector<double>& w) {
  const std::vector<double> yv = y.to_double_vector();
  double s = 0;
  for (size_t i = 0; i < yv.size(); ++i) s += w[i] * yv[i];
  return s;
}

double round_to_bf16(double v) { return bf16_to_float(float_to_bf16(static_cast<float>(v))); }

// Whether the shapes differ and broadcast together (whole, or, for ops on matrices, without their last two
// dimensions: batch broadcasting).
bool shapes_broadcast(const std::vector<Shape>& shapes, size_t drop_last) {
  Shape out;
  std::vector<Shape> batch;
  for (const Shape& s : shapes) {
    batch.emplace_back(s.begin(), s.end() - static_cast<std::ptrdiff_t>(std::min(drop_last, s.size())));
    try {
      out = broadcast_shapes(out, batch.back());
    } catch (const Error&) {
      return false;
    }
  }
  for (const Shape& s : batch)
    if (s != out) return true;
  return false;
}

bool some_set_broadcasts(const std::vector<std::vector<Shape>>& sets) {
  for (const auto& shapes : sets)
    if (shapes_broadcast(shapes, 0) || shapes_broadcast(shapes, 2)) return true;
  return false;
}

// |a - ref| <= steps * 2^-8 * (|ref| + rms(ref)) + f32_tol * max |ref|, element by element.
std::string compare_bf16(const std::vector<double>& a, const std::vector<double>& ref, double steps, double f32_tol) {
  if (a.size() != ref.size()) return cat("has ", a.size(), " elements, the f64 path ", ref.size());
  double max_abs = 0, sq = 0;
  for (double v : ref) {
    max_abs = std::max(max_abs, std::abs(v));
    sq += v * v;
  }
  const double rms = ref.empty() ? 0 : std::sqrt(sq / static_cast<double>(ref.size()));
  for (size_t i = 0; i < a.size(); ++i) {
    const double bound = steps * std::ldexp(1.0, -8) * (std::abs(ref[i]) + rms) + f32_tol * std::max(1.0, max_abs);
    if (!(std::abs(a[i] - ref[i]) <= bound))
      return cat("element ", i, " is ", a[i], ", the f64 path on the same bf16 inputs gives ", ref[i], " (bound ",
                 bound, ")");
  }
  return "";
}

// Compares each input's gradient from `inputs` (after a backward) with `ref` relative to its largest value.
std::string compare_grads(const VarList& inputs, const std::vector<std::vector<double>>& ref, double tol) {
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor g = inputs[k].grad();
    const std::vector<double> a = g.defined() ? g.to_double_vector() : std::vector<double>(ref[k].size(), 0.0);
    double scale = 1;
    for (double v : ref[k]) scale = std::max(scale, std::abs(v));
    for (size_t i = 0; i < a.size() && i < ref[k].size(); ++i)
      if (!(std::abs(a[i] - ref[k][i]) <= tol * scale))
        return cat("input ", k, " gradient element ", i, " is ", a[i], ", f64 gives ", ref[k][i]);
  }
  return "";
}

std::vector<std::vector<double>> grads_of(const VarList& inputs, const std::vector<std::vector<double>>& values) {
  std::vector<std::vector<double>> out;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor g = inputs[k].grad();
    out.push_back(g.defined() ? g.to_double_vector() : std::vector<double>(values[k].size(), 0.0));
  }
  return out;
}

// The bf16 kernel path of a case against the f64 path on the same bf16-rounded inputs and output weights.
std::string check_bf16(const GradcheckCase& c, const std::vector<Shape>& shapes,
                       const std::vector<std::vector<double>>& values, const std::vector<double>& weights) {
  EnableGradGuard grad_on;  // the caller is in no-grad mode
  VarList in64, in32;
  std::vector<std::vector<double>> rounded;
  for (size_t k = 0; k < shapes.size(); ++k) {
    rounded.push_back(values[k]);
    for (double& v : rounded.back()) v = round_to_bf16(v);
    in64.emplace_back(Tensor::from_vector(rounded.back(), shapes[k]), true);
    in32.emplace_back(Tensor::from_vector(rounded.back(), shapes[k]).to(DType::f32), true);
  }
  std::vector<double> w = weights;
  for (double& v : w) v = round_to_bf16(v);
  Var ref = c.fn(in64);
  Var y = c.bf16_fn(in32);
  if (y.shape() != ref.shape()) return cat("bf16 forward gave ", y.value().str(), ", f64 gave ", ref.value().str());
  if (std::string e = compare_bf16(y.value().to_double_vector(), ref.value().to_double_vector(), c.bf16_roundings,
                                   c.f32_tolerance);
      !e.empty())
    return "bf16 forward " + e;
  if (!y.requires_grad()) return "";  // a forward-only bf16 kernel
  ref.backward(Tensor::from_vector(w, ref.shape()));
  y.backward(Tensor::from_vector(w, y.shape()).to(DType::f32));
  const auto ref_grads = grads_of(in64, rounded), grads = grads_of(in32, rounded);
  for (size_t k = 0; k < shapes.size(); ++k)
    if (std::string e = compare_bf16(grads[k], ref_grads[k], c.bf16_roundings, c.f32_tolerance); !e.empty())
      return cat("bf16 gradient of input ", k, ": ", e);
  return "";
}

}  // namespace

GradcheckResult run_gradcheck(const GradcheckCase& c, int seeds) {
  GradcheckResult result;
  auto fail = [&](const std::string& msg) {
    if (result.ok) result.message = msg;
    result.ok = false;
  };
  if (c.broadcasting && !some_set_broadcasts(c.shape_sets))
    fail(cat(c.op, "/", c.label, ": flagged broadcasting, but no shape set has an input that broadcasts"));
  for (size_t set = 0; set < c.shape_sets.size(); ++set) {
    const auto& shapes = c.shape_sets[set];
    std::string shapes_text;
    for (const auto& s : shapes) shapes_text += shape_str(s) + " ";
    for (int seed = 0; seed < seeds; ++seed) {
      for (bool non_contiguous : {false, true}) {
        const std::string where = cat(c.op, "/", c.label, " shapes ", shapes_text, "seed ", seed,
                                      non_contiguous ? " (non-contiguous)" : "");
        Rng rng(1000 * set + seed + 1);
        std::vector<std::vector<double>> values;
        VarList inputs;
        for (const auto& s : shapes) {
          values.push_back(draw_values(shape_numel(s), c.domain, rng));
          inputs.emplace_back(make_input(s, values.back(), non_contiguous), true);
        }
        Var y = c.fn(inputs);
        const Tensor y64 = y.value();
        if (y64.dtype() != DType::f64) {
          fail(cat(where, ": f64 inputs gave a ", dtype_name(y64.dtype()), " output"));
          continue;
        }
        std::vector<double> w = draw_values(y64.numel(), InputDomain::normal, rng);
        const Tensor seed_grad = Tensor::from_vector(w, y64.shape());
        if (!y.requires_grad()) {
          fail(cat(where, ": output does not require grad"));
          continue;
        }
        y.backward(seed_grad);

        NoGradGuard no_grad;
        for (size_t k = 0; k < inputs.size(); ++k) {
          const Tensor g = inputs[k].grad();
          const std::vector<double> analytic =
              g.defined() ? g.to_double_vector() : std::vector<double>(static_cast<size_t>(shape_numel(shapes[k])), 0.0);
          Tensor x = inputs[k].mutable_value();
          for (int64_t i = 0; i < x.numel(); ++i) {
            // Index of flat element i in x's logical shape.
            std::vector<int64_t> idx(shapes[k].size());
            for (int64_t d = static_cast<int64_t>(idx.size()) - 1, r = i; d >= 0; --d) {
              idx[d] = r % shapes[k][d];
              r /= shapes[k][d];
            }
            const double x0 = values[k][i];
            const double h = 1e-6 * std::max(1.0, std::abs(x0));
            x.set(idx, x0 + h);
            const double fp = weighted_sum(c.fn(inputs).value(), w);
            x.set(idx, x0 - h);
            const double fm = weighted_sum(c.fn(inputs).value(), w);
            x.set(idx, x0);
            const double numeric = (fp - fm) / (2 * h);
            const double err = std::abs(analytic[i] - numeric) / std::max(1.0, std::abs(numeric));
            result.max_error = std::max(result.max_error, err);
            if (!(err <= c.tolerance))
              fail(cat(where, ": input ", k, " element ", i, ": analytic ", analytic[i], " vs numeric ", numeric));
          }
        }
        if (c.bf16_fn && !non_contiguous)
          if (std::string e = check_bf16(c, shapes, values, w); !e.empty()) fail(cat(where, ": ", e));
        if (c.check_f32 && !non_contiguous) {
          VarList inputs32;
          for (const Var& v : inputs) inputs32.emplace_back(v.value().to(DType::f32), true);
          Var out32;
          {
            EnableGradGuard grad_on;
            out32 = c.fn(inputs32);
            if (out32.requires_grad()) out32.backward(seed_grad.to(DType::f32));
          }
          // the f32 backward against the f64 analytic gradients (checked above against finite differences)
          std::vector<std::vector<double>> grads64;
          for (size_t k = 0; k < inputs.size(); ++k) {
            const Tensor g = inputs[k].grad();
            grads64.push_back(g.defined() ? g.to_double_vector()
                                          : std::vector<double>(static_cast<size_t>(shape_numel(shapes[k])), 0.0));
          }
          if (out32.requires_grad())
            if (std::string e = compare_grads(inputs32, grads64, c.f32_tolerance); !e.empty())
              fail(cat(where, ": f32 backward ", e));
          const Tensor y32 = out32.value();
          if (y32.dtype() != DType::f32 || y32.shape() != y64.shape()) {
            fail(cat(where, ": f32 forward gave ", y32.str(), ", f64 gave ", y64.str()));
            continue;
          }
          const auto a = y64.to_double_vector(), b = y32.to_double_vector();
          double scale = 1;
          for (double v : a) scale = std::max(scale, std::abs(v));
          for (size_t i = 0; i < a.size(); ++i)
            if (!(std::abs(a[i] - b[i]) <= c.f32_tolerance * scale))
              fail(cat(where, ": f32 forward element ", i, " is ", b[i], ", f64 gives ", a[i]));
        }
      }
    }
  }
  return result;
}

}  // namespace rotor::autograd
