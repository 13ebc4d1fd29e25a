#!/usr/bin/python3
"""PyTorch side of bench/mixers_bench.sh: the same token mixers at the same sizes as bench/mixers_bench.cpp,
timed the same way (a training step: forward + backward of sum(out * seed) on x [1, T, 64], f32; decoding:
one token at a time over T tokens, no gradients). The mixers are PyTorch's own torch.nn.RNN / LSTM / GRU
and the reference implementations of tests/nn/make_mixer_reference.py (written from the papers' equations:
linear attention and FAVOR+ as explicit masked sums, FLASH as per-pair weights, the sparse patterns as dense
masked softmax, S4D with an FFT convolution, Mamba with its sequential scan) between q/k/v/out projections.
Those references have no single-token form, so decoding is timed for the recurrent networks only.
Output: "mixer T train_ms decode_tokens_per_s" per line ("nan" where not timed).
Usage: mixers_torch.py THREADS T,T,... MIXER,...|all [REPS]
"""
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "nn"))
import make_mixer_reference as ref  # noqa: E402

DIM, HEADS = 64, 4


class Heads(torch.nn.Module):
    """q, k, v, out projections around fn(q, k, v) on [1, H, T, Dh]."""

    def __init__(self, fn):
        super().__init__()
        self.q, self.k, self.v, self.out = (torch.nn.Linear(DIM, DIM) for _ in range(4))
        self.fn = fn

    def forward(self, x):
        B, T, _ = x.shape
        split = lambda y: y.view(B, T, HEADS, DIM // HEADS).transpose(1, 2)  # noqa: E731
        y = self.fn(split(self.q(x)), split(self.k(x)), split(self.v(x)))
        return self.out(y.transpose(1, 2).reshape(B, T, DIM))


class Params(torch.nn.Module):
    """A reference block taking (x, parameter dict)."""

    def __init__(self, shapes, fn, init=None):
        super().__init__()
        self.p = torch.nn.ParameterDict({k.replace(".", "_"): torch.nn.Parameter(torch.randn(*s) * 0.1)
                                         for k, s in shapes.items()})
        self.names = list(shapes)
        if init:
            init(self.p)
        self.fn = fn

    def forward(self, x):
        return self.fn(x, {k: self.p[k.replace(".", "_")] for k in self.names})


class S4DLayer(torch.nn.Module):
    def __init__(self, H=DIM, N=32):
        super().__init__()
        self.log_dt = torch.nn.Parameter(torch.rand(H) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        self.log_A_real = torch.nn.Parameter(torch.log(0.5 * torch.ones(H, N)))
        self.A_imag = torch.nn.Parameter(math.pi * torch.arange(N).float().repeat(H, 1))
        self.C = torch.nn.Parameter(torch.randn(H, N, 2) * 0.5 ** 0.5)
        self.D = torch.nn.Parameter(torch.randn(H))

    def forward(self, u):
        return ref.s4d_reference(u, self.log_dt, self.log_A_real, self.A_imag, self.C, self.D).float()


def build(name, T):
    if name in ("rnn", "lstm", "gru"):
        return {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[name](DIM, DIM, batch_first=True)
    if name == "linear":
        return Heads(lambda q, k, v: ref.linear_attention_reference(q, k, v, False))
    if name == "performer":
        w = torch.randn(64, DIM // HEADS)
        return Heads(lambda q, k, v: ref.performer_reference(q, k, v, w))
    if name in ("local", "strided", "fixed"):
        l = 64 if name == "local" else round(math.sqrt(T))  # the Sparse Transformer's l = sqrt(T)
        return Heads(lambda q, k, v: ref.pattern_reference(q, k, v, name, l, 4))
    if name == "flash":
        e, s, C = 2 * DIM, 64, 64
        shapes = {"hidden.weight": (2 * e, DIM), "hidden.bias": (2 * e,), "qk.weight": (s, DIM), "qk.bias": (s,),
                  "gamma": (4, s), "beta": (4, s), "rel_bias": (C,), "out.weight": (DIM, e), "out.bias": (DIM,)}
        return Params(shapes, lambda x, p: ref.flash_reference(x, p, C, 4096))
    if name == "s4d":
        return S4DLayer()
    if name == "mamba":
        E, N, R, K = 2 * DIM, 16, math.ceil(DIM / 16), 4
        shapes = {"in_proj.weight": (2 * E, DIM), "conv1d.weight": (E, 1, K), "conv1d.bias": (E,),
                  "x_proj.weight": (R + 2 * N, E), "dt_proj.weight": (E, R), "dt_proj.bias": (E,),
                  "out_proj.weight": (DIM, E), "A_log": (E, N), "D": (E,)}

        def init(p):
            with torch.no_grad():
                p["A_log"].copy_(torch.log(torch.arange(1, N + 1).float()).repeat(E, 1))
                p["D"].fill_(1.0)
        return Params(shapes, lambda x, p: ref.mamba_reference(x, p, K), init)
    raise SystemExit(f"mixers_torch: unknown mixer {name}")


def median_ms(f, reps):
    f()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    lengths = [int(t) for t in (sys.argv[2] if len(sys.argv) > 2 else "256,1024").split(",")]
    which = sys.argv[3] if len(sys.argv) > 3 else "all"
    if which == "all":
        which = "rnn,lstm,gru,linear,performer,flash,local,strided,fixed,s4d,mamba"
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    for name in which.split(","):
        for T in lengths:
            m = build(name, T)
            x = torch.randn(1, T, DIM, requires_grad=True)
            seed = torch.randn(1, T, DIM)

            def train():
                m.zero_grad()
                x.grad = None
                out = m(x)
                out = out[0] if isinstance(out, tuple) else out
                (out * seed).sum().backward()
            train_ms = median_ms(train, reps)
            decode = float("nan")
            if name in ("rnn", "lstm", "gru"):
                def run_decode():
                    with torch.no_grad():
                        state = None
                        for t in range(T):
                            _, state = m(x[:, t:t + 1], state)
                decode = T / (median_ms(run_decode, max(1, reps // 2)) / 1e3)
            print(f"{name} {T} {train_ms:.3f} {decode:.1f}", flush=True)


if __name__ == "__main__":
    main()
