#pragma once
// Mamba (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces"): the selective
// scan and the Mamba block, with the parameter names of the reference implementation (mamba_simple.py).
//
// Selective scan, per channel e and state n (A = -exp(A_log) real diagonal, [E, N]):
//   h_t = exp(delta_t A) h_{t-1} + delta_t B_t x_t,   y_t = sum_n C_t h_t + D x_t
// with input-dependent delta_t [E] (after softplus), B_t, C_t [N]. Two ways, same result:
//   sequential: one step at a time (the decode path's recurrence);
//   chunked:    inside a chunk of L steps, with the cumulative log-decay c_t = sum_{s<=t} delta_s A,
//               h_t = exp(c_t) h_0 + sum_{s<=t} exp(c_t - c_s) delta_s B_s x_s (all t of a chunk at once,
//               O(L) parallel work per step), the last state carried to the next chunk.
// Block, x: [B, T, d_model]:
//   (xi, z) = in_proj(x) split in halves [B, T, E] each;  xc = silu(causal depthwise conv1d(xi));
//   (dt, Bm, Cm) = x_proj(xc) split [R, N, N];  delta = softplus(dt_proj(dt));
//   y = selective_scan(xc, delta, A, Bm, Cm, D) * silu(z);  out = out_proj(y).
// Every other op is an autograd op, so the rest of the backward is the tape's.
#include <memory>

#include "rotor/nn/layers.h"

namespace rotor::nn {

// x: [B, T, E], weight: [E, 1, K], bias: [E] -> [B, T, E]:  y_t = bias + sum_k weight[:, 0, k] x_{t-K+1+k}
// (zeros before the start).
Var causal_depthwise_conv(const Var& x, const Var& weight, const Var& bias);

// The block's depthwise conv as a module (parameters weight [E, 1, K], bias [E], PyTorch Conv1d's init).
class CausalDepthwiseConv1d : public Module {
 public:
  CausalDepthwiseConv1d(int64_t channels, int64_t kernel, Rng& rng, DType dtype = DType::f32);
  Var forward(const Var& x) const { return causal_depthwise_conv(x, weight_, bias_); }  // [B, T, E] -> [B, T, E]
  int64_t kernel() const { return weight_.size(2); }

 private:
  Var weight_, bias_;
};

// x, delta: [B, T, E], A: [E, N], Bm, Cm: [B, T, N], D: [E] -> y: [B, T, E].
Var selective_scan_sequential(const Var& x, const Var& delta, const Var& A, const Var& Bm, const Var& Cm, const Var& D);
Var selective_scan_chunked(const Var& x, const Var& delta, const Var& A, const Var& Bm, const Var& Cm, const Var& D,
                           int64_t chunk);
// The fused op (f32 or f64; differentiable in all six inputs).
Var selective_scan(const Var& x, const Var& delta, const Var& A, const Var& Bm, const Var& Cm, const Var& D);

enum class ScanForm { fused, chunked, sequential };

// Decode state: the last K-1 inputs of the conv [B, K-1, E] and the scan state h [B, E, N].
struct MambaState {
  Var conv, h;
};

struct MambaOptions {
  int64_t d_state = 16, d_conv = 4, expand = 2;
  int64_t dt_rank = 0;  // 0: ceil(d_model / 16)
  int64_t chunk = 32;   // scan chunk of forward(x, ScanForm::chunked)
};

class MambaBlock : public Module {
 public:
  // Parameters: in_proj.weight [2E, d], conv1d.weight [E, 1, K], conv1d.bias [E], x_proj.weight [R + 2N, E],
  // dt_proj.weight [E, R], dt_proj.bias [E], A_log [E, N], D [E], out_proj.weight [d, E].
  // Initialised as the reference: A_log = log(1..N) per channel, D = 1, dt_proj.bias = softplus^-1(dt) with
  // dt = exp(U(log 1e-3, log 1e-1)), dt_proj.weight U(-R^-1/2, R^-1/2), linears and conv as PyTorch's.
  MambaBlock(int64_t d_model, const MambaOptions& options, Rng& rng, DType dtype = DType::f32);
  // x: [B, T, d_model] -> [B, T, d_model], the scan computed in the given form (all give the same result).
  Var forward(const Var& x, ScanForm form = ScanForm::fused) const;
  // x: [B, d_model] -> [B, d_model], advancing `state` (zeros when empty).
  Var step(const Var& x, MambaState& state) const;

 private:
  std::shared_ptr<Linear> in_proj_, x_proj_, dt_proj_, out_proj_;
  std::shared_ptr<CausalDepthwiseConv1d> conv1d_;
  Var A_log_, D_;
  int64_t inner_, rank_, state_, conv_, chunk_;
};

}  // namespace rotor::nn
