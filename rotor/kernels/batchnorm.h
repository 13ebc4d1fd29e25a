#pragma once
// Batch normalisation in training mode (BatchNorm1d/2d with batch statistics), forward and backward over
// raw buffers laid out [N, C, S] (S: the positions of one channel of one sample, 1 for [N, C]).
// Instantiated for float and double (double is used by the gradient checks). Each channel is summed by one
// thread in double, so the results do not depend on the thread count.
#include <cstdint>

namespace rotor::kernels {

// out: [N, C, S]; mean, var (biased), rstd: [C]; weight, bias: [C].
// out = (inp - mean) * rstd * weight + bias, rstd = 1 / sqrt(var + eps), statistics over N and S.
template <class T>
void batchnorm_forward(T* out, T* mean, T* var, T* rstd, const T* inp, const T* weight, const T* bias, int64_t N,
                       int64_t C, int64_t S, double eps);
// dinp: [N, C, S] (+=); dweight, dbias: [C] (+=); dout, inp: [N, C, S]; mean, rstd from the forward.
// With xhat = (inp - mean) rstd and M = N S:
//   dinp += weight rstd (dout - sum(dout) / M - xhat sum(dout xhat) / M), dweight += sum(dout xhat),
//   dbias += sum(dout).
template <class T>
void batchnorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, const T* mean,
                        const T* rstd, int64_t N, int64_t C, int64_t S);

}  // namespace rotor::kernels
