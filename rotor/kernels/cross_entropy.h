#pragma once
// Softmax cross-entropy over the last dimension, with an ignore index and label smoothing
// (PyTorch semantics: loss = (1-e) * -log p[y] + e * mean_j(-log p[j]), averaged over the rows whose
// target is not ignored; NaN when every row is ignored). Instantiated for float and double.
#include <cstdint>

namespace rotor::kernels {

struct CrossEntropyOptions {
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
};

// logits: [N, V]; targets: [N]; row_losses: [N] or null (0 for ignored rows). Returns the mean loss.
// Throws rotor::Error naming the row when a target is outside [0, V) and not the ignore index.
template <class T>
double cross_entropy_forward(T* row_losses, const T* logits, const int32_t* targets, int64_t N, int64_t V,
                             const CrossEntropyOptions& opt = {});

// Fused softmax + loss + gradient of (grad_scale * mean loss). dlogits: [N, V] is WRITTEN (not added),
// and may be the same buffer as logits (computed in place). Returns the mean loss.
template <class T>
double cross_entropy_forward_backward(T* dlogits, const T* logits, const int32_t* targets, int64_t N, int64_t V,
                                      const CrossEntropyOptions& opt = {}, double grad_scale = 1.0);

// The per-row form, for callers that reduce the losses themselves (autograd's cross_entropy):
// row_losses and lse: [N] (written; the loss is 0 for ignored rows); targets: [N] int64.
template <class T>
void cross_entropy_rows(T* row_losses, T* lse, const T* logits, const int64_t* targets, int64_t N, int64_t V,
                        const CrossEntropyOptions& opt = {});
// Its backward: dlogits [N, V] (written) = row_grad[n] * d row_losses[n] / d logits[n, :], with lse from
// cross_entropy_rows; zero rows for ignored targets.
template <class T>
void cross_entropy_rows_backward(T* dlogits, const T* logits, const T* lse, const int64_t* targets, const T* row_grad,
                                 int64_t N, int64_t V, const CrossEntropyOptions& opt = {});

}  // namespace rotor::kernels
