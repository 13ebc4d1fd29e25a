#pragma once
// Gradient checking: one registry of differentiable ops and one harness that checks them all
// (in the spirit of ggml's test-backend-ops).
//
// Each registered case names an op, gives one or more sets of input shapes and a function that builds
// the op's output from input Vars. The harness, for every shape set and several seeds:
//   1. fills f64 inputs with random values (by the case's domain), once as dense tensors and once as
//      non-contiguous views (transposed or strided storage) holding the same values;
//   2. runs the forward in f64, seeds backward with random weights w (so the checked scalar is
//      sum(w * output)) and compares every input gradient with central finite differences in double
//      precision;
//   3. runs the forward again on f32 copies of the inputs and compares it with the f64 forward, which
//      checks the f32 kernels against the f64 path.
//
//   4. where the case has a bf16 kernel path (bf16_fn), runs it on bf16-rounded inputs and compares its
//      forward and gradients with the f64 path on the same inputs, within bounds derived from bf16
//      rounding (see GradcheckCase::bf16_fn);
//   5. checks that a case flagged `broadcasting` has a shape set that broadcasts.
//
// Adding an op. Register at least one case per op, with several shape sets (including a scalar or size-1
// dimension where the op allows one). Flag `broadcasting` on the cases of an op that broadcasts its inputs
// and give them shape sets like {{4, 1, 5}, {3, 5}}. Name the backward kernels the op runs in `kernels`.
// If the op has a bf16 kernel, give `bf16_fn` and the number of bf16 roundings on its path. For example:
//   r.add(GradcheckCase{"my_add", "broadcast", {{{3, 4}, {3, 4}}, {{4, 1, 5}, {3, 5}}},
//                       [](const VarList& in) { return my_add(in[0], in[1]); }}
//             .with_broadcasting()
//             .with_kernels({"my_add_backward"}));
// tests/autograd/gradcheck_test.cpp fails when an op recorded on the tape (a `record("name", ...)` or
// `unary_op("name", ...)` in rotor/) has no case, when a backward kernel is not covered, or when an op
// listed there as broadcasting has no broadcasting case.
//
// The registry is open. Library ops add a `register_<family>_gradchecks(GradcheckRegistry&)` function
// next to their code and list it in gradcheck_registry() (gradcheck.cpp); built-ins are registered the
// first time gradcheck_registry() is called. Code outside rotor/autograd (e.g. kernels wrapped by another
// module) may instead register from a test file with a static initializer, which runs before GoogleTest
// enumerates the cases in tests/autograd/gradcheck_test.cpp:
//   static const bool registered = (rotor::autograd::gradcheck_registry().add(
//       {"my_op", "basic", {{{4, 5}}}, [](const VarList& in) { return my_op(in[0]); }}), true);
// A case's fn must be deterministic (same inputs, same output) and accept both f64 and f32 inputs.
#include <functional>
#include <string>
#include <vector>

#include "rotor/autograd/var.h"

namespace rotor::autograd {

using VarList = std::vector<Var>;

// How input values are drawn.
enum class InputDomain {
  normal,         // standard normal
  positive,       // uniform in [0.5, 2]  (log, sqrt, pow with real exponents, division)
  away_from_zero, // |x| uniform in [0.3, 2], random sign (relu, abs, kinks at 0)
  distinct,       // a shuffled grid k*0.1 + offset, offset in [0.013, 0.043] per tensor: no ties (max/min),
                  // and never within 0.007 of k*0.1 + 0.05, where kinks (clamp bounds) can be placed
};

struct GradcheckCase {
  std::string op;                       // op name, e.g. "matmul"
  std::string label;                    // what this case covers, e.g. "batched broadcast"
  std::vector<std::vector<Shape>> shape_sets;  // each: one shape per input
  std::function<Var(const VarList&)> fn;       // builds the output (any shape) from the inputs
  InputDomain domain = InputDomain::normal;
  double tolerance = 1e-6;              // on |analytic - numeric| / max(1, |numeric|)
  double f32_tolerance = 1e-4;          // on the f32 forward vs the f64 forward, relative to max |y|
  bool check_f32 = true;                // compare the f32 forward with the f64 one
  // --- added fields (all defaulted, so the brace forms above keep compiling) ---
  // The case broadcasts inputs against each other; run_gradcheck fails it unless some shape set really
  // broadcasts (an input whose shape differs from the output's and broadcasts to it, e.g. [4, 1, 5] vs
  // [3, 5]). Every op that broadcasts must have such a case (tests/autograd/gradcheck_test.cpp).
  bool broadcasting = false;
  // The op's bf16 kernel path, for ops that have one: called with f32 inputs holding bf16-rounded values
  // (and requiring grad), it runs the bf16 kernels and returns an f32 output. Its forward, and its input
  // gradients when the output requires grad, are compared with fn's in f64 on the same rounded inputs
  // (the output weights rounded to bf16 too), element by element within
  //   bf16_roundings * 2^-8 * (|ref| + rms(ref)) + f32_tolerance * max |ref|
  // where bf16_roundings counts the bf16 roundings on the path from the inputs to the output (each loses
  // at most 2^-8 of the value it rounds: of the element itself, or inside a sum of the sum's typical size).
  std::function<Var(const VarList&)> bf16_fn = nullptr;
  double bf16_roundings = 1;
  // The kernel functions this case exercises (e.g. "layernorm_backward"): every backward kernel declared
  // in rotor/kernels/*.h must be covered by some case (tests/autograd/gradcheck_test.cpp).
  std::vector<std::string> kernels = {};

  // Chainable setters for the added fields: r.add(GradcheckCase{...}.with_broadcasting());
  GradcheckCase& with_broadcasting() { broadcasting = true; return *this; }
  GradcheckCase& with_kernels(std::vector<std::string> names) { kernels = std::move(names); return *this; }
  GradcheckCase& with_bf16(std::function<Var(const VarList&)> f, double roundings) {
    bf16_fn = std::move(f);
    bf16_roundings = roundings;
    return *this;
  }
};

class GradcheckRegistry {
 public:
  void add(GradcheckCase c);
  const std::vector<GradcheckCase>& cases() const { return cases_; }
  std::vector<std::string> op_names() const;  // distinct op names, in registration order
  // Adds `kernels` to every case of `op` (registered before): for ops registered in one file whose kernels
  // are declared in another (kernel_gradchecks.cpp declares the autograd ops' kernels).
  void add_kernels(const std::string& op, const std::vector<std::string>& kernels);
  std::vector<std::string> covered_kernels() const;  // the union of the cases' `kernels`

 private:
  std::vector<GradcheckCase> cases_;
};

// The process-wide registry (built-in ops registered on first use).
GradcheckRegistry& gradcheck_registry();

struct GradcheckResult {
  bool ok = true;
  double max_error = 0;   // worst scaled gradient error seen
  std::string message;    // first failure, naming op, label, shapes, input, element and values
};

// Check one case over all its shape sets with `seeds` different random inputs each.
GradcheckResult run_gradcheck(const GradcheckCase& c, int seeds = 2);

// The registration functions of the built-in op families (each lives next to its ops).
void register_arithmetic_gradchecks(GradcheckRegistry& r);
void register_linalg_gradchecks(GradcheckRegistry& r);
void register_reduction_gradchecks(GradcheckRegistry& r);
void register_softmax_gradchecks(GradcheckRegistry& r);
void register_view_gradchecks(GradcheckRegistry& r);
void register_indexing_gradchecks(GradcheckRegistry& r);
void register_loss_gradchecks(GradcheckRegistry& r);
void register_normalization_gradchecks(GradcheckRegistry& r);
void register_dropout_gradchecks(GradcheckRegistry& r);
void register_attention_gradchecks(GradcheckRegistry& r);
void register_fused_attention_gradchecks(GradcheckRegistry& r);
void register_checkpoint_gradchecks(GradcheckRegistry& r);
void register_conv_gradchecks(GradcheckRegistry& r);
void register_upsampling_gradchecks(GradcheckRegistry& r);
void register_kernel_gradchecks(GradcheckRegistry& r);  // the transformer's kernels (kernel_gradchecks.cpp)
void register_higher_order_gradchecks(GradcheckRegistry& r);  // create_graph: second derivatives
// n(inputs) = sum_i ||d/dx_i sum(w * f(inputs))||^2 (w a fixed pattern), differentiable in the inputs (and
// in anything f closes over), through grad(..., create_graph = true): a second-order case checks n.
// Inputs that do not require a gradient (the harness's f32 pass) are made leaves that do.
Var gradient_norm_squared(const std::function<Var(const VarList&)>& f, const VarList& inputs);
void register_discrete_gradchecks(GradcheckRegistry& r);  // straight-through, Gumbel-softmax (discrete.cpp)

}  // namespace rotor::autograd
