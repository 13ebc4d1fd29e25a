#include "rotor/autograd/gradcheck.h"

#include <algorithm>
#include <cmath>

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
    register_higher_order_gradchecks(*r);
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

}  // namespace

GradcheckResult run_gradcheck(const GradcheckCase& c, int seeds) {
  GradcheckResult result;
  auto fail = [&](const std::string& msg) {
    if (result.ok) result.message = msg;
    result.ok = false;
  };
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
        if (c.check_f32 && !non_contiguous) {
          VarList inputs32;
          for (const Var& v : inputs) inputs32.emplace_back(v.value().to(DType::f32), false);
          const Tensor y32 = c.fn(inputs32).value();
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
