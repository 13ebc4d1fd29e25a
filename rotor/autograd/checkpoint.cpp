#include "rotor/autograd/checkpoint.h"

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/autocast.h"
#include "rotor/autograd/gradcheck.h"
#include "rotor/autograd/linalg.h"

namespace rotor::autograd {

Var checkpoint(const std::function<Var(const std::vector<Var>&)>& fn, const std::vector<Var>& inputs) {
  Tensor out;
  {
    NoGradGuard no_grad;
    out = fn(inputs).value();
  }
  std::vector<bool> wants;
  for (const Var& v : inputs) wants.push_back(v.requires_grad());
  std::vector<Tensor> values;
  for (const Var& v : inputs) values.push_back(v.value());
  // the recomputation runs in the forward's autocast state, whatever is active when backward runs
  const bool bf16 = autocast_bf16();
  return record("checkpoint", out, inputs, [fn, values, wants, bf16](const Tensor& g) {
    // Fresh leaves over the same values: the recomputed graph ends at them.
    std::vector<Var> leaves;
    for (size_t i = 0; i < values.size(); ++i) leaves.emplace_back(values[i], wants[i]);
    {
      EnableGradGuard grad_on;
      AutocastGuard cast(bf16);
      Var y = fn(leaves);
      if (y.requires_grad()) y.backward(g.shape() == y.shape() ? g : g.reshape(y.shape()));
    }
    std::vector<Tensor> grads;
    for (const Var& leaf : leaves) grads.push_back(leaf.requires_grad() ? leaf.grad() : Tensor());
    return grads;
  });
}

void register_checkpoint_gradchecks(GradcheckRegistry& r) {
  r.add({"checkpoint", "two-input block", {{{3, 4}, {4, 2}}, {{1, 3}, {3, 5}}}, [](const VarList& in) {
           return checkpoint([](const std::vector<Var>& x) { return tanh(matmul(x[0], x[1])) * x[0].size(0); }, in);
         }});
}

}  // namespace rotor::autograd
