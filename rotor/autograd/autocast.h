#pragma once
// Mixed precision in the manner of torch.autocast("cpu", dtype=torch.bfloat16): while an AutocastGuard
// is alive (in this thread), linear() multiplies bf16 copies of its f32 input and weight, accumulating
// in f32 (AVX512-BF16 / AMX through rotor/kernels/linear.h), and returns f32. Gradients stay f32: the
// output gradient is rounded to bf16 for the two backward products, the bias gradient sums it in f32.
// Every other op runs as without the guard. f64 values are never cast.
//   { autograd::AutocastGuard bf16; loss = cross_entropy(model.forward(x), y); }  loss.backward();
namespace rotor::autograd {

bool autocast_bf16();  // whether a guard is active in this thread
class AutocastGuard {
 public:
  AutocastGuard();
  explicit AutocastGuard(bool enabled);  // sets the state to `enabled` (e.g. to replay a recorded one)
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace rotor::autograd
