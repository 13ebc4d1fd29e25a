#pragma once
// Differentiable surrogates of classification metrics, usable as training losses (each is 1 - the soft
// metric, so minimising the loss raises the metric it stands for). Probabilities replace hard decisions:
//   multiclass, logits [N, C], targets [N]:  p = softmax(logits)
//     soft_accuracy_loss  1 - mean_i p[i, y_i]
//     soft_macro_f1_loss  1 - mean_c 2 TP_c / (2 TP_c + FP_c + FN_c + eps), with
//                         TP_c = sum_i p[i,c] [y_i = c], FP_c = sum_i p[i,c] [y_i != c],
//                         FN_c = sum_i (1 - p[i,c]) [y_i = c]
//   binary, scores [N] (logits), labels [N] in {0, 1}:  p = sigmoid(score)
//     soft_binary_accuracy_loss  1 - mean_i (y_i p_i + (1 - y_i)(1 - p_i))
//     soft_binary_f1_loss        1 - 2 TP / (2 TP + FP + FN + eps) of the positive class
//     pairwise_auc_loss          1 - mean over (positive i, negative j) of sigmoid((s_i - s_j) / tau),
//                                the Wilcoxon-Mann-Whitney statistic with the step smoothed
// eps = 1e-7 keeps F1 defined when a class is absent from the batch.
#include "rotor/autograd/var.h"

namespace rotor::nn {

autograd::Var soft_accuracy_loss(const autograd::Var& logits, const Tensor& targets);
autograd::Var soft_macro_f1_loss(const autograd::Var& logits, const Tensor& targets, double eps = 1e-7);
autograd::Var soft_binary_accuracy_loss(const autograd::Var& scores, const Tensor& labels);
autograd::Var soft_binary_f1_loss(const autograd::Var& scores, const Tensor& labels, double eps = 1e-7);
// Needs at least one positive and one negative label (throws rotor::Error otherwise).
autograd::Var pairwise_auc_loss(const autograd::Var& scores, const Tensor& labels, double tau = 1.0);

}  // namespace rotor::nn
