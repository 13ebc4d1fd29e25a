#include "rotor/autograd/var.h"

#include <unordered_map>
#include <unordered_set>

#include "rotor/kernels/elementwise.h"

namespace rotor::autograd {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }
EnableGradGuard::EnableGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = true; }
EnableGradGuard::~EnableGradGuard() { g_grad_enabled = previous_; }

Var::Var(Tensor value, bool requires_grad) : impl_(std::make_shared<VarImpl>()) {
  ROTOR_CHECK(value.defined(), "Var: value is an undefined tensor");
  ROTOR_CHECK(!requires_grad || value.dtype() == DType::f32 || value.dtype() == DType::f64,
              "Var: only f32 and f64 values can require gradients, got ", dtype_name(value.dtype()));
  impl_->value = std::move(value);
  impl_->requires_grad = requires_grad;
}

const Tensor& Var::value() const {
  ROTOR_CHECK(impl_, "Var: use of an undefined Var");
  return impl_->value;
}

Tensor& Var::mutable_value() {
  ROTOR_CHECK(impl_, "Var: use of an undefined Var");
  return impl_->value;
}

const Tensor& Var::grad() const {
  ROTOR_CHECK(impl_, "Var: use of an undefined Var");
  return impl_->grad;
}

void Var::set_grad(Tensor grad) {
  ROTOR_CHECK(impl_, "Var: use of an undefined Var");
  ROTOR_CHECK(!grad.defined() || grad.shape() == impl_->value.shape(), "Var: gradient of shape ",
              shape_str(grad.shape()), " for a value of shape ", shape_str(impl_->value.shape()));
  impl_->grad = std::move(grad);
}

void Var::zero_grad() {
  if (impl_) impl_->grad = Tensor();
}

bool Var::requires_grad() const { return impl_ && impl_->requires_grad; }

void Var::set_requires_grad(bool on) {
  ROTOR_CHECK(impl_, "Var: use of an undefined Var");
  ROTOR_CHECK(is_leaf(), "Var: requires_grad can only be changed on leaves");
  ROTOR_CHECK(!on || impl_->value.dtype() == DType::f32 || impl_->value.dtype() == DType::f64,
              "Var: only f32 and f64 values can require gradients");
  impl_->requires_grad = on;
}

bool Var::is_leaf() const { return impl_ && !impl_->node; }

const std::shared_ptr<Node>& Var::node() const {
  ROTOR_CHECK(impl_, "Var: use of an undefined Var");
  return impl_->node;
}

Var Var::detach() const { return Var(value(), false); }

bool needs_grad(const std::vector<Var>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Var& v : inputs)
    if (v.requires_grad()) return true;
  return false;
}

Var record(const char* name, Tensor value, std::vector<Var> inputs, BackwardFn backward) {
  Var out(std::move(value), false);
  if (!needs_grad(inputs)) return out;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  out.impl()->requires_grad = true;
  out.impl()->node = std::move(node);
  return out;
}

void Var::backward(const Tensor& seed_in) const {
  ROTOR_CHECK(impl_, "backward: undefined Var");
  ROTOR_CHECK(impl_->requires_grad, "backward: this value does not require a gradient (no input requires one)");
  Tensor seed = seed_in;
  if (!seed.defined()) {
    ROTOR_CHECK(value().numel() == 1, "backward: a seed gradient is needed for a value of shape ",
                shape_str(value().shape()));
    seed = Tensor::ones(value().shape(), value().dtype());
  }
  ROTOR_CHECK(seed.shape() == value().shape(), "backward: seed of shape ", shape_str(seed.shape()),
              " for a value of shape ", shape_str(value().shape()));
  NoGradGuard no_grad;

  // Reverse topological order by an iterative depth-first search (graphs can be deep).
  std::vector<VarImpl*> order;
  std::unordered_set<VarImpl*> visited;
  std::vector<std::pair<VarImpl*, size_t>> stack{{impl_.get(), 0}};
  visited.insert(impl_.get());
  while (!stack.empty()) {
    auto& [v, next] = stack.back();
    if (v->node && next < v->node->inputs.size()) {
      VarImpl* in = v->node->inputs[next++].impl();
      if (in && in->requires_grad && visited.insert(in).second) stack.push_back({in, 0});
    } else {
      order.push_back(v);
      stack.pop_back();
    }
  }

  std::unordered_map<VarImpl*, Tensor> grads;
  grads[impl_.get()] = seed;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    VarImpl* v = *it;
    auto found = grads.find(v);
    if (found == grads.end()) continue;
    Tensor g = std::move(found->second);
    grads.erase(found);
    if (!v->node) {  // a leaf: accumulate into its own gradient (never aliasing another tensor)
      if (!v->grad.defined()) {
        // Take g itself when nothing else can see its storage (the common case); otherwise copy.
        const bool sole_owner = g.storage().use_count() == 1 && g.is_contiguous() && g.offset() == 0 &&
                                g.dtype() == v->value.dtype();
        v->grad = sole_owner ? g : kernels::copy(g);
      }
      else kernels::add_(v->grad, g);
      continue;
    }
    Node& node = *v->node;
    std::vector<Tensor> in_grads = node.backward(g);
    ROTOR_CHECK(in_grads.size() == node.inputs.size(), "backward of ", node.name, ": ", in_grads.size(),
                " gradients for ", node.inputs.size(), " inputs");
    for (size_t i = 0; i < in_grads.size(); ++i) {
      VarImpl* in = node.inputs[i].impl();
      if (!in || !in->requires_grad || !in_grads[i].defined()) continue;
      Tensor& gi = in_grads[i];
      ROTOR_CHECK(gi.shape() == in->value.shape(), "backward of ", node.name, ": gradient of input ", i, " has shape ",
                  shape_str(gi.shape()), ", input has ", shape_str(in->value.shape()));
      if (gi.dtype() != in->value.dtype()) gi = gi.to(in->value.dtype());
      auto slot = grads.find(in);
      if (slot == grads.end()) grads.emplace(in, std::move(gi));
      else slot->second = kernels::add(slot->second, gi);
    }
  }
}

}  // namespace rotor::autograd
