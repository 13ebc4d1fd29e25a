#include "rotor/autograd/var.h"

#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/profile.h"
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
  if (!impl_) return;
  impl_->grad = Tensor();
  impl_->grad_graph.reset();
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

Node::~Node() {
  // Values only this node holds would die inside this destructor, each destroying its own node, and so
  // on up the tape. Instead their nodes' inputs are taken over here first, so every value dies with an
  // empty node, and the walk continues from the taken inputs.
  std::vector<std::shared_ptr<VarImpl>> pending;
  for (Var& in : inputs) pending.push_back(in.release_impl());
  while (!pending.empty()) {
    std::shared_ptr<VarImpl> v = std::move(pending.back());
    pending.pop_back();
    if (v && v.use_count() == 1 && v->node && v->node.use_count() == 1) {
      for (Var& in : v->node->inputs) pending.push_back(in.release_impl());
      v->node->inputs.clear();
    }
  }
}

Var record(const char* name, Tensor value, std::vector<Var> inputs, BackwardFn backward) {
  return record(name, std::move(value), std::move(inputs), std::move(backward), GraphBackwardFn());
}

Var record(const char* name, Tensor value, std::vector<Var> inputs, BackwardFn backward,
           GraphBackwardFn backward_graph) {
  if (profile_enabled()) profile_forward(name);
  Var out(std::move(value), false);
  if (!needs_grad(inputs)) return out;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  node->backward_graph = std::move(backward_graph);
  out.impl()->requires_grad = true;
  out.impl()->node = std::move(node);
  return out;
}

Var Var::from_impl(std::shared_ptr<VarImpl> impl) {
  Var v;
  v.impl_ = std::move(impl);
  return v;
}

Var Var::grad_var() const {
  ROTOR_CHECK(impl_, "Var: use of an undefined Var");
  if (impl_->grad_graph) return from_impl(impl_->grad_graph);
  return impl_->grad.defined() ? Var(impl_->grad, false) : Var();
}

namespace {

// The backward engine, over Tensor gradients (plain backward) or Var gradients (create_graph).
Tensor sum_grads(Tensor a, const Tensor& b) {
  // In place when nothing else sees a's storage (an op's fresh result), else a new tensor.
  if (a.storage().use_count() == 1 && a.is_contiguous() && a.dtype() == b.dtype()) {
    kernels::add_(a, b);
    return a;
  }
  return kernels::add(a, b);
}
Var sum_grads(const Var& a, const Var& b) {
  EnableGradGuard record_backward;
  return add(a, b);
}
const Tensor& value_of(const Tensor& g) { return g; }
const Tensor& value_of(const Var& g) { return g.value(); }
bool is_defined(const Tensor& g) { return g.defined(); }
bool is_defined(const Var& g) { return g.defined(); }
std::vector<Tensor> run_node(Node& node, const Tensor& g) {
  if (!profile_enabled()) return node.backward(g);
  const double t0 = profile_now();
  std::vector<Tensor> out = node.backward(g);
  profile_backward(node.name, profile_now() - t0);
  return out;
}
std::vector<Var> run_node(Node& node, const Var& g) {
  EnableGradGuard record_backward;
  return node.backward_graph(g, node.inputs);
}
Tensor to_dtype(const Tensor& g, DType dt, const Node&) { return g.to(dt); }
Var to_dtype(const Var& g, DType dt, const Node& node) {
  ROTOR_CHECK(false, "backward with create_graph: the gradient of ", node.name, " is ", dtype_name(g.dtype()),
              " for a ", dtype_name(dt), " input (mixed dtypes are not differentiable twice)");
  return g;
}

// Leaf accumulation.
void accumulate(VarImpl* v, Tensor g) {
  if (v->grad.defined() && !v->grad_graph) {
    kernels::add_(v->grad, g);
    return;
  }
  if (v->grad.defined()) {  // the previous gradient belongs to a recorded graph: do not modify it
    v->grad = kernels::add(v->grad, g);
    v->grad_graph.reset();
    return;
  }
  // Take g itself when nothing else can see its storage (the common case); otherwise copy.
  const bool sole_owner =
      g.storage().use_count() == 1 && g.is_contiguous() && g.offset() == 0 && g.dtype() == v->value.dtype();
  v->grad = sole_owner ? std::move(g) : kernels::copy(g);
}
void accumulate(VarImpl* v, const Var& g) {
  EnableGradGuard record_backward;
  Var total = g;
  if (v->grad_graph) total = add(Var::from_impl(v->grad_graph), g);
  else if (v->grad.defined()) total = add(Var(v->grad, false), g);
  v->grad = total.value();
  v->grad_graph = total.shared_impl();
}

// Back-propagates `seed` from `root`. With `targets`, the gradients reaching those Vars are returned
// (in order) and nothing accumulates into leaves; without, leaves accumulate into grad().
template <class G>
std::vector<G> run_backward(VarImpl* root, G seed, const std::vector<VarImpl*>* targets) {
  // Reverse topological order by an iterative depth-first search (graphs can be deep).
  std::vector<VarImpl*> order;
  std::unordered_set<VarImpl*> visited;
  std::vector<std::pair<VarImpl*, size_t>> stack{{root, 0}};
  visited.insert(root);
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
  // With targets, only nodes from which a target is reachable need their backward.
  std::unordered_map<VarImpl*, size_t> target_index;
  std::unordered_set<VarImpl*> needed;
  if (targets) {
    for (size_t i = 0; i < targets->size(); ++i) target_index.emplace((*targets)[i], i);
    for (VarImpl* v : order) {  // inputs come before the values computed from them
      bool need = target_index.count(v) > 0;
      if (v->node)
        for (const Var& in : v->node->inputs) need = need || needed.count(in.impl());
      if (need) needed.insert(v);
    }
  }
  auto needs_backward = [&](VarImpl* v) {
    if (!v->node) return false;
    if (!targets) return true;
    for (const Var& in : v->node->inputs)
      if (needed.count(in.impl())) return true;
    return false;
  };
  if constexpr (std::is_same_v<G, Var>) {  // fail before computing anything
    for (VarImpl* v : order)
      ROTOR_CHECK(!needs_backward(v) || v->node->backward_graph, "backward with create_graph: ", v->node->name,
                  " has no differentiable backward yet, so its gradient cannot be differentiated again");
  }

  std::vector<G> results(targets ? targets->size() : 0);
  std::unordered_map<VarImpl*, G> grads;
  grads[root] = std::move(seed);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    VarImpl* v = *it;
    auto found = grads.find(v);
    if (found == grads.end()) continue;
    G g = std::move(found->second);
    grads.erase(found);
    if (targets) {
      auto t = target_index.find(v);
      if (t != target_index.end()) results[t->second] = g;
    } else if (!v->node) {  // a leaf: accumulate into its own gradient (never aliasing another tensor)
      accumulate(v, std::move(g));
      continue;
    }
    if (!needs_backward(v)) continue;
    Node& node = *v->node;
    if constexpr (std::is_same_v<G, Tensor>) {
      if (node.scatter_into) {  // a region view: add g into the input's pending gradient in place
        VarImpl* in = node.inputs[0].impl();
        if (!in || !in->requires_grad) continue;
        const Tensor gi = g.dtype() == in->value.dtype() ? g : g.to(in->value.dtype());
        auto slot = grads.find(in);
        if (slot == grads.end()) slot = grads.emplace(in, Tensor::zeros(in->value.shape(), in->value.dtype())).first;
        Tensor& dst = slot->second;
        if (!(dst.storage().use_count() == 1 && dst.is_contiguous() && dst.offset() == 0)) dst = kernels::copy(dst);
        const double t0 = profile_enabled() ? profile_now() : 0;
        node.scatter_into(dst, gi);
        if (profile_enabled()) profile_backward(node.name, profile_now() - t0);
        continue;
      }
    }
    std::vector<G> in_grads = run_node(node, g);
    ROTOR_CHECK(in_grads.size() == node.inputs.size(), "backward of ", node.name, ": ", in_grads.size(),
                " gradients for ", node.inputs.size(), " inputs");
    for (size_t i = 0; i < in_grads.size(); ++i) {
      VarImpl* in = node.inputs[i].impl();
      if (!in || !in->requires_grad || !is_defined(in_grads[i])) continue;
      G& gi = in_grads[i];
      ROTOR_CHECK(value_of(gi).shape() == in->value.shape(), "backward of ", node.name, ": gradient of input ", i,
                  " has shape ", shape_str(value_of(gi).shape()), ", input has ", shape_str(in->value.shape()));
      if (value_of(gi).dtype() != in->value.dtype()) gi = to_dtype(gi, in->value.dtype(), node);
      auto slot = grads.find(in);
      if (slot == grads.end()) grads.emplace(in, std::move(gi));
      else slot->second = sum_grads(std::move(slot->second), gi);
    }
  }
  return results;
}

Tensor checked_seed(const VarImpl& v, const Tensor& seed_in, const char* what) {
  ROTOR_CHECK(v.requires_grad, what, ": this value does not require a gradient (no input requires one)");
  Tensor seed = seed_in;
  if (!seed.defined()) {
    ROTOR_CHECK(v.value.numel() == 1, what, ": a seed gradient is needed for a value of shape ",
                shape_str(v.value.shape()));
    seed = Tensor::ones(v.value.shape(), v.value.dtype());
  }
  ROTOR_CHECK(seed.shape() == v.value.shape(), what, ": seed of shape ", shape_str(seed.shape()),
              " for a value of shape ", shape_str(v.value.shape()));
  return seed;
}

}  // namespace

void Var::backward(const Tensor& seed_in, bool create_graph) const {
  ROTOR_CHECK(impl_, "backward: undefined Var");
  const Tensor seed = checked_seed(*impl_, seed_in, "backward");
  NoGradGuard no_grad;
  if (create_graph) run_backward<Var>(impl_.get(), Var(seed, false), nullptr);
  else run_backward<Tensor>(impl_.get(), seed, nullptr);
}

std::vector<Var> grad(const Var& output, const std::vector<Var>& inputs, const Tensor& seed_in, bool create_graph) {
  ROTOR_CHECK(output.defined(), "grad: undefined output");
  const Tensor seed = checked_seed(*output.impl(), seed_in, "grad");
  std::vector<VarImpl*> targets;
  for (const Var& in : inputs) {
    ROTOR_CHECK(in.defined() && in.requires_grad(), "grad: every input must require a gradient");
    targets.push_back(in.impl());
  }
  NoGradGuard no_grad;
  std::vector<Var> out(inputs.size());
  if (create_graph) {
    out = run_backward<Var>(output.impl(), Var(seed, false), &targets);
  } else {
    const std::vector<Tensor> g = run_backward<Tensor>(output.impl(), seed, &targets);
    for (size_t i = 0; i < g.size(); ++i)
      if (g[i].defined()) out[i] = Var(g[i].storage().use_count() == 1 ? g[i] : kernels::copy(g[i]), false);
  }
  for (size_t i = 0; i < out.size(); ++i)
    if (!out[i].defined()) out[i] = Var(Tensor::zeros(inputs[i].shape(), inputs[i].dtype()), false);
  return out;
}

}  // namespace rotor::autograd
