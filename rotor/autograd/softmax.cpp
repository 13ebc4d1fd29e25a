#include "rotor/autograd/softmax.h"

#include "rotor/autograd/gradcheck.h"
#include "rotor/kernels/softmax.h"

namespace rotor::autograd {

namespace k = rotor::kernels;
using Grads = std::vector<Tensor>;

// y = softmax(x): dx = y * (dy - sum(dy * y)).
Var softmax(const Var& x, int64_t axis) {
  const Tensor y = k::softmax(x.value(), axis);
  return record("softmax", y, {x}, [y, axis](const Tensor& g) { return Grads{k::softmax_backward(y, g, axis)}; });
}

// y = log_softmax(x): dx = dy - softmax(x) * sum(dy).
Var log_softmax(const Var& x, int64_t axis) {
  const Tensor y = k::log_softmax(x.value(), axis);
  return record("log_softmax", y, {x}, [y, axis](const Tensor& g) { return Grads{k::log_softmax_backward(y, g, axis)}; });
}

void register_softmax_gradchecks(GradcheckRegistry& r) {
  const std::vector<std::vector<Shape>> shapes = {{{3, 5}}, {{2, 3, 4}}, {{6}}};
  r.add({"softmax", "last axis", shapes, [](const VarList& in) { return softmax(in[0], -1); }});
  r.add({"softmax", "first axis", shapes, [](const VarList& in) { return softmax(in[0], 0); }});
  r.add({"log_softmax", "last axis", shapes, [](const VarList& in) { return log_softmax(in[0], -1); }});
  r.add({"log_softmax", "first axis", shapes, [](const VarList& in) { return log_softmax(in[0], 0); }});
}

}  // namespace rotor::autograd
