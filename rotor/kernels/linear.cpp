#include "rotor/kernels/linear.h"

#include <cstring>

#include "rotor/kernels/matmul.h"
#include "rotor/kernels/pair_gemm.h"
#include "rotor/kernels/parallel_rows.h"

namespace rotor::kernels {

namespace {
// rotor's own bf16 kernels for these sizes, unless oneDNN has AMX (kernels/matmul.h)
bool own_bf16_linear(int64_t N, int64_t IN, int64_t OUT) {
  return !onednn_uses_amx() && linear_pairs_supported(N, IN, OUT);
}
bool own_bf16_weight_gradient(int64_t N, int64_t IN, int64_t OUT) {
  return !onednn_uses_amx() && weight_gradient_bf16_supported(N, IN, OUT);
}
}  // namespace

template <class T> void add_column_sums(T* sums, const T* x, int64_t N, int64_t C) {
  rows_with_column_sums<T>(N, C, C, sums, [&](int64_t n, T* p) {
    const T* row = x + n * C;
#pragma omp simd
    for (int64_t j = 0; j < C; ++j) p[j] += row[j];
  });
}

template <>
void linear_forward<float>(float* out, const float* inp, const float* weight, const float* bias, int64_t N, int64_t IN,
                           int64_t OUT) {
  gemm(1, N, OUT, IN, DType::f32, inp, row_major(N, IN), weight, transposed(IN, OUT), out, row_major(N, OUT), false,
       bias);
}

template <>
void linear_backward<float>(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                            const float* weight, int64_t N, int64_t IN, int64_t OUT, bool overwrite_dinp) {
  if (dinp) gemm_f32(false, false, N, IN, OUT, dout, weight, dinp, !overwrite_dinp);
  gemm_f32(true, false, OUT, IN, N, dout, inp, dweight, true);
  if (dbias) add_column_sums(dbias, dout, N, OUT);
}

template <>
void linear_forward<double>(double* out, const double* inp, const double* weight, const double* bias, int64_t N,
                            int64_t IN, int64_t OUT) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OUT; ++o) {
      double s = bias ? bias[o] : 0.0;
      for (int64_t i = 0; i < IN; ++i) s += inp[n * IN + i] * weight[o * IN + i];
      out[n * OUT + o] = s;
    }
}

template <>
void linear_backward<double>(double* dinp, double* dweight, double* dbias, const double* dout, const double* inp,
                             const double* weight, int64_t N, int64_t IN, int64_t OUT, bool overwrite_dinp) {
  if (dinp && overwrite_dinp)
    for (int64_t i = 0; i < N * IN; ++i) dinp[i] = 0.0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OUT; ++o) {
      const double g = dout[n * OUT + o];
      if (dbias) dbias[o] += g;
      for (int64_t i = 0; i < IN; ++i) {
        if (dinp) dinp[n * IN + i] += g * weight[o * IN + i];
        dweight[o * IN + i] += g * inp[n * IN + i];
      }
    }
}

void linear_forward_bf16(float* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t IN,
                         int64_t OUT) {
  if (own_bf16_linear(N, IN, OUT)) return linear_forward_pairs<float>(out, inp, weight, bias, N, IN, OUT);
  gemm(1, N, OUT, IN, DType::bf16, inp, row_major(N, IN), weight, transposed(IN, OUT), out, row_major(N, OUT), false,
       bias);
}

void linear_backward_bf16(float* dinp, float* dweight, float* dbias, const float* dout_f32, const bf16* dout_bf16,
                          const bf16* inp, const bf16* weight, int64_t N, int64_t IN, int64_t OUT,
                          bool overwrite_dinp) {
  linear_backward_bf16_prepared(dinp, dweight, dout_bf16, inp, weight, N, IN, OUT, overwrite_dinp);
  if (dbias) add_column_sums(dbias, dout_f32, N, OUT);
}

void linear_forward_bf16_out(bf16* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N, int64_t IN,
                             int64_t OUT) {
  if (own_bf16_linear(N, IN, OUT)) return linear_forward_pairs<bf16>(out, inp, weight, bias, N, IN, OUT);
  gemm_to_bf16(1, N, OUT, IN, inp, row_major(N, IN), weight, transposed(IN, OUT), out, row_major(N, OUT), bias);
}

void linear_backward_bf16_prepared(float* dinp, float* dweight, const bf16* dout16, const bf16* inp,
                                   const bf16* weight, int64_t N, int64_t IN, int64_t OUT, bool overwrite_dinp,
                                   bf16* dinp16, bool overwrite_dweight) {
  if (own_bf16_linear(N, IN, OUT)) {
    if (dinp) linear_input_grad_pairs<float>(dinp, dout16, weight, N, IN, OUT, !overwrite_dinp);
    if (dinp16) linear_input_grad_pairs<bf16>(dinp16, dout16, weight, N, IN, OUT, false);
  } else {
    if (dinp) gemm_bf16(false, false, N, IN, OUT, dout16, weight, dinp, !overwrite_dinp);
    if (dinp16)
      gemm_to_bf16(1, N, IN, OUT, dout16, row_major(N, OUT), weight, row_major(OUT, IN), dinp16, row_major(N, IN));
  }
  if (own_bf16_weight_gradient(N, IN, OUT)) weight_gradient_bf16(dweight, dout16, inp, N, IN, OUT, !overwrite_dweight);
  else gemm_bf16(true, false, OUT, IN, N, dout16, inp, dweight, !overwrite_dweight);
}

template void add_column_sums<float>(float*, const float*, int64_t, int64_t);
template void add_column_sums<double>(double*, const double*, int64_t, int64_t);

}  // namespace rotor::kernels
