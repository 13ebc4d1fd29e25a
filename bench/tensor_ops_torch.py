#!/usr/bin/python3
"""The PyTorch side of bench/tensor_ops_bench.cpp: the same workloads, same output format."""
import statistics
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
torch.manual_seed(0)


def time_it(name, f, reps=15):
    f()
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ms.append((time.perf_counter() - t0) * 1000)
    print(f"{name} {statistics.median(ms):.4f}", flush=True)


a = torch.randn(4096, 1024)
b = torch.randn(1024)
time_it("add_broadcast_4096x1024", lambda: a + b)
time_it("mul_transposed_1024x4096", lambda: a.t() * a.t())
time_it("gelu_tanh_4M", lambda: F.gelu(a, approximate="tanh"))
time_it("exp_4M", lambda: torch.exp(a))
time_it("sum_rows_4096x1024", lambda: a.sum(1))
time_it("sum_cols_4096x1024", lambda: a.sum(0))
time_it("sum_all_4M", lambda: a.sum())
time_it("max_rows_4096x1024", lambda: a.amax(1))
time_it("contiguous_transposed_1024x4096", lambda: a.t().contiguous())
heads = torch.randn(8, 256, 4, 64)
time_it("contiguous_permuted_8x4x256x64", lambda: heads.permute(0, 2, 1, 3).contiguous())
time_it("softmax_rows_4096x1024", lambda: torch.softmax(a, -1))
time_it("softmax_cols_4096x1024", lambda: torch.softmax(a, 0))

x = torch.randn(4096, 768, requires_grad=True)
w = torch.randn(768, requires_grad=True)
bb = torch.randn(768, requires_grad=True)
seed = torch.randn(4096, 768)
time_it("layer_norm_fwd_bwd_4096x768", lambda: F.layer_norm(x, (768,), w, bb).backward(seed))

xa = torch.randn(2048, 1024, requires_grad=True)
seed_a = torch.randn(2048, 1024)


def act_step(f):
    xa.grad = None
    f(xa).backward(seed_a)


time_it("sigmoid_fwd_bwd_2048x1024", lambda: act_step(torch.sigmoid))
time_it("tanh_fwd_bwd_2048x1024", lambda: act_step(torch.tanh))
mask_a = torch.randint(0, 2, (2048, 1024)).bool()
time_it("masked_fill_fwd_bwd_2048x1024", lambda: act_step(lambda t: t.masked_fill(mask_a, -1e9)))

logits = torch.randn(2048, 4096, requires_grad=True)
targets = torch.randint(0, 4096, (2048,))
time_it("cross_entropy_fwd_bwd_2048x4096", lambda: F.cross_entropy(logits, targets).backward())

xm = torch.randn(2048, 256)
ym = torch.randn(2048, 256)
w1 = (torch.randn(1024, 256) * 0.05).requires_grad_()
b1 = torch.zeros(1024, requires_grad=True)
w2 = (torch.randn(256, 1024) * 0.03).requires_grad_()
b2 = torch.zeros(256, requires_grad=True)


def mlp_step():
    h = F.gelu(F.linear(xm, w1, b1), approximate="tanh")
    loss = F.mse_loss(F.linear(h, w2, b2), ym)
    for p in (w1, b1, w2, b2):
        p.grad = None
    loss.backward()


time_it("mlp_step_2048x256x1024", mlp_step)


B, T, H, Dh = 8, 256, 4, 64
qkv = (torch.randn(B, T, 3 * H * Dh) * 0.5).requires_grad_()
seed_attn = torch.randn(B, T, H * Dh)
causal = torch.ones(T, T, dtype=torch.bool).triu(1)


def attention_step():
    q, k, v = (qkv[:, :, i * H * Dh:(i + 1) * H * Dh].reshape(B, T, H, Dh).transpose(1, 2) for i in range(3))
    s = (q @ k.transpose(-1, -2)) / Dh ** 0.5
    o = torch.softmax(s.masked_fill(causal, float("-inf")), -1) @ v
    o.transpose(1, 2).reshape(B, T, H * Dh).backward(seed_attn)


time_it("attention_fused_fwd_bwd_8x256x4x64", attention_step, 5)
time_it("attention_composite_fwd_bwd_8x256x4x64", attention_step, 5)

xc = torch.randn(8, 64, 32, 32, requires_grad=True)
wc = (torch.randn(64, 64, 3, 3) * 0.05).requires_grad_()
bc = torch.zeros(64, requires_grad=True)
seed_conv = torch.randn(8, 64, 32, 32)


def conv_step():
    for p in (xc, wc, bc):
        p.grad = None
    F.conv2d(xc, wc, bc, padding=1).backward(seed_conv)


time_it("conv2d_3x3_fwd_bwd_8x64x32x32", conv_step, 5)

xt = torch.randn(8, 64, 16, 16, requires_grad=True)
wt = (torch.randn(64, 32, 4, 4) * 0.05).requires_grad_()
bt = torch.zeros(32, requires_grad=True)
xpool = torch.randn(8, 64, 32, 32, requires_grad=True)
seed_t, seed_pool, seed_up = torch.randn(8, 32, 32, 32), torch.randn(8, 64, 16, 16), torch.randn(8, 64, 32, 32)


def conv_transpose_step():
    for p in (xt, wt, bt):
        p.grad = None
    F.conv_transpose2d(xt, wt, bt, stride=2, padding=1).backward(seed_t)


def pool_step():
    xpool.grad = None
    F.max_pool2d(xpool, 2).backward(seed_pool)


def upsample_step():
    xt.grad = None
    F.interpolate(xt, scale_factor=2, mode="nearest").backward(seed_up)


time_it("conv_transpose2d_4x4_s2_fwd_bwd_8x64x16x16", conv_transpose_step, 5)
time_it("max_pool2d_2x2_fwd_bwd_8x64x32x32", pool_step)
time_it("upsample_nearest_2x_fwd_bwd_8x64x16x16", upsample_step)

# The linear layers' three products at the GPT's shapes (see tensor_ops_bench.cpp): what F.linear's
# forward and autograd's backward call.
N = 2048
for IN, OUT in ((256, 768), (256, 256), (256, 1024), (1024, 256)):
    xl, wl, bl, dyl = torch.randn(N, IN), torch.randn(OUT, IN), torch.randn(OUT), torch.randn(N, OUT)
    shape = f"{N}x{IN}x{OUT}"
    time_it(f"linear_fwd_{shape}", lambda: torch.addmm(bl, xl, wl.t()))
    time_it(f"linear_dx_{shape}", lambda: dyl.mm(wl))
    time_it(f"linear_dw_{shape}", lambda: dyl.t().mm(xl))
