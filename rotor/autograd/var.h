#pragma once
// Reverse-mode automatic differentiation: the tape.
//
// A Var is a shared handle to a value Tensor plus, when it takes part in differentiation, a gradient
// and the Node that produced it. Ops (rotor/autograd/*.h) compute their forward on Tensors and, when
// grad mode is on and some input requires a gradient, record a Node holding the inputs and a backward
// closure. `loss.backward()` walks the recorded graph in reverse topological order and accumulates
// gradients into the leaves (Vars created with requires_grad = true), as in PyTorch:
//
//   Var w(Tensor::zeros({3, 4}), /*requires_grad=*/true);
//   Var loss = mean(square(matmul(x, w) - y));
//   loss.backward();          // w.grad() now holds d loss / d w (accumulated; call w.zero_grad())
//
// The graph lives as long as the result Vars that reference it. Backward runs without recording, except
// with create_graph: then each node's backward runs as differentiable ops (its `backward_graph`), so the
// gradients are Vars with their own graph and can be differentiated again (higher-order gradients, e.g.
// WGAN-GP's gradient penalty):
//   Var d = critic(x_hat);                                       // x_hat: [N, F], requires grad
//   Var gx = grad(d, {x_hat}, Tensor::ones(d.shape()), true)[0]; // [N, F], differentiable
//   Var penalty = mean(square(sqrt(sum(square(gx), {1})) - 1.0));
//   penalty.backward();                                          // reaches the critic's weights
// An op without a differentiable backward makes such a pass fail with a rotor::Error naming the op.
// Gradients have the value's shape and dtype (f32 or f64).
// Ops save the input Tensors they need (sharing storage, not copying): do not modify a value in place
// (e.g. an optimizer step through mutable_value()) between a forward and its backward.
//
// Training loop with the optim kernels (raw f32 buffers):
//   for (Var& p : model.parameters()) p.zero_grad();
//   Var loss = cross_entropy(model.forward(x), targets);
//   loss.backward();
//   for (Var& p : model.parameters())
//     optim::adam_step(p.mutable_value().data<float>(), p.grad().data<float>(), m, v, p.numel(), lr, step, opt);
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rotor/core/tensor.h"

namespace rotor::autograd {

class Var;

// Computes the gradients of a node's inputs from the gradient of its output. It returns one Tensor
// per input, in order; an undefined Tensor means "no gradient" for that input.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;
// The same backward written with differentiable ops on Vars (for create_graph): it gets the output's
// gradient and the node's inputs and returns one Var per input (undefined: no gradient). It must not
// capture the node's output Var (that would be a reference cycle); recompute what it needs from inputs.
using GraphBackwardFn = std::function<std::vector<Var>(const Var& grad_output, const std::vector<Var>& inputs)>;

struct Node {
  std::string name;          // op name, for error messages
  std::vector<Var> inputs;
  BackwardFn backward;
  GraphBackwardFn backward_graph;  // empty: this op's gradient is not differentiable (yet)
  // Set by views of one input that pick a region of it (slice, select): adds the output gradient g into
  // that region of dst (the input's gradient so far, or zeros). The first-order backward then calls this
  // instead of `backward`, so that many slices of one tensor (chunked and recurrent mixers) cost the size
  // of the slices, not that of the whole input per slice.
  std::function<void(Tensor& dst, const Tensor& g)> scatter_into;
  // Frees the graph above this node iteratively: a tape of a million ops (a recurrent mixer over a long
  // context) would otherwise be destroyed by a million nested destructor calls and overflow the stack.
  ~Node();
};

struct VarImpl {
  Tensor value;
  Tensor grad;
  std::shared_ptr<VarImpl> grad_graph;  // the gradient as a Var, after backward with create_graph
  bool requires_grad = false;
  std::shared_ptr<Node> node;  // null for leaves and for values computed without grad
};

class Var {
 public:
  Var() = default;  // undefined
  // A leaf. With requires_grad it collects gradients in grad().
  explicit Var(Tensor value, bool requires_grad = false);

  bool defined() const { return impl_ != nullptr; }
  const Tensor& value() const;
  // The value, for in-place updates by optimizers and initialisers (not recorded on the tape).
  Tensor& mutable_value();
  const Tensor& grad() const;  // undefined until a backward pass reaches this Var
  // The accumulated gradient as a differentiable Var when the last backward that reached this leaf ran
  // with create_graph; otherwise a constant Var holding grad() (undefined when grad() is).
  Var grad_var() const;
  void set_grad(Tensor grad);
  void zero_grad();            // drops the gradient (the next backward starts from zero)
  bool requires_grad() const;
  void set_requires_grad(bool on);  // leaves only
  bool is_leaf() const;
  const std::shared_ptr<Node>& node() const;

  const Shape& shape() const { return value().shape(); }
  int64_t dim() const { return value().dim(); }
  int64_t size(int64_t d) const { return value().size(d); }
  int64_t numel() const { return value().numel(); }
  DType dtype() const { return value().dtype(); }
  double item() const { return value().item(); }

  // A new leaf sharing this value, cut off from the graph, not requiring grad.
  Var detach() const;

  // Back-propagate from this Var. `seed` is d(something)/d(this) with this Var's shape; it may be
  // omitted only for one-element Vars (seed 1). Gradients accumulate into leaves' grad(); with
  // create_graph they are also recorded (grad_var()) so they can be differentiated again.
  void backward(const Tensor& seed = Tensor(), bool create_graph = false) const;

  VarImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<VarImpl>& shared_impl() const { return impl_; }
  // Moves the handle out, leaving this Var undefined (Node's iterative destructor).
  std::shared_ptr<VarImpl> release_impl() { return std::move(impl_); }
  static Var from_impl(std::shared_ptr<VarImpl> impl);

 private:
  std::shared_ptr<VarImpl> impl_;
};

// d output / d inputs as Vars, like torch.autograd.grad: nothing accumulates into grad(); inputs may be
// leaves or intermediate values. `seed` as in backward. With create_graph the results carry a graph and
// are differentiable; otherwise they are constants. An input the output does not depend on gets zeros.
std::vector<Var> grad(const Var& output, const std::vector<Var>& inputs, const Tensor& seed = Tensor(),
                      bool create_graph = false);

// Grad mode: while a NoGradGuard is alive (in this thread) ops record nothing.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Turns grad mode on for its lifetime (used to re-record inside a backward pass, e.g. checkpointing).
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

// True when an op over these inputs must be recorded (grad mode on and some input requires grad).
bool needs_grad(const std::vector<Var>& inputs);

// Wrap an op's forward result. When needs_grad(inputs), records a Node named `name` whose backward is
// `backward`; otherwise returns a plain Var. Every op in rotor/autograd goes through this.
Var record(const char* name, Tensor value, std::vector<Var> inputs, BackwardFn backward);
// The same, with the backward also as differentiable ops (see GraphBackwardFn), for create_graph.
Var record(const char* name, Tensor value, std::vector<Var> inputs, BackwardFn backward,
           GraphBackwardFn backward_graph);

}  // namespace rotor::autograd
