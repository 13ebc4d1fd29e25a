#include "rotor/autograd/dropout.h"

#include "rotor/autograd/gradcheck.h"
#include "rotor/kernels/elementwise.h"

namespace rotor::autograd {

namespace k = rotor::kernels;
using Grads = std::vector<Tensor>;

// y = x * mask, mask[i] in {0, 1/(1-p)}: dx = dy * mask.
Var dropout(const Var& x, double p, Rng& rng, bool training) {
  ROTOR_CHECK(p >= 0 && p <= 1, "dropout: probability ", p, " is outside [0, 1]");
  if (!training || p == 0) return x;
  const DType dt = x.dtype() == DType::f64 ? DType::f64 : DType::f32;
  Tensor mask = Tensor::empty(x.shape(), dt);
  const double keep_scale = p < 1 ? 1.0 / (1.0 - p) : 0.0;
  const int64_t n = mask.numel();
  if (dt == DType::f64) {
    double* m = mask.data<double>();
    for (int64_t i = 0; i < n; ++i) m[i] = rng.uniform() >= p ? keep_scale : 0.0;
  } else {
    float* m = mask.data<float>();
    const float s = static_cast<float>(keep_scale);
    for (int64_t i = 0; i < n; ++i) m[i] = rng.uniform() >= p ? s : 0.0f;
  }
  return record("dropout", k::mul(x.value(), mask), {x}, [mask](const Tensor& g) { return Grads{k::mul(g, mask)}; });
}

void register_dropout_gradchecks(GradcheckRegistry& r) {
  // A fresh generator per evaluation gives the same mask in every forward of the check.
  r.add({"dropout", "p=0.3", {{{4, 5}}, {{2, 3, 4}}},
         [](const VarList& in) {
           Rng rng(7);
           return dropout(in[0], 0.3, rng);
         }});
}

}  // namespace rotor::autograd
