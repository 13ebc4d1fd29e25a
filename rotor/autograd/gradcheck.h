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
};

class GradcheckRegistry {
 public:
  void add(GradcheckCase c);
  const std::vector<GradcheckCase>& cases() const { return cases_; }
  std::vector<std::string> op_names() const;  // distinct op names, in registration order

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
void register_higher_order_gradchecks(GradcheckRegistry& r);  // create_graph: second derivatives

}  // namespace rotor::autograd
