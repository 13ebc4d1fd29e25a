#!/usr/bin/python3
"""Reference weights, inputs, outputs and gradients for rotor's sequence mixers (rotor/nn), computed by
PyTorch. Run with Debian's python3 (python3-torch) from the repository root:

    /usr/bin/python3 tests/nn/make_mixer_reference.py      # (re)writes tests/nn/data/mixer_*.safetensors

Recurrent networks are torch.nn.RNN / LSTM / GRU themselves (batch_first); the attention mixers are written
from their papers' equations in their plain quadratic (explicitly masked) form, which rotor computes
differently (prefix sums, chunks). For each recurrent case and the Mamba and FLASH blocks (NAME = mamba, flash) it writes
  mixer_NAME_state.safetensors: the module's state_dict exactly as torch names it, F32
  mixer_NAME_ref.safetensors:   inputs (x, h0, c0), the loss weights (seed_*), outputs (out, h_n, c_n)
                                and gradients (grad.x, grad.h0, grad.<param>), F64
The reference functions keep their inputs' dtype (f64 here; bench/mixers_torch.py times them in f32).
The weights and inputs are drawn in f32 and the reference is computed in f64 from those same values, so
rotor's f32 run is compared against an exact answer. The checked scalar is
    sum(out * seed_out) + sum(h_n * seed_h) [+ sum(c_n * seed_c)].
The mixer functions (linear, linear_rope, performer, s4d, local, strided, fixed) write only mixer_NAME_ref.safetensors: inputs (q, k, v), seed_out,
out and grad.<input>, for sum(out * seed_out).
safetensors is written with struct + json (Debian has no `safetensors` package) as in
tests/io/make_reference.py: u64 little-endian header size, JSON header, data.
"""
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")


def write_safetensors(path, tensors):
    """tensors: dict name -> torch tensor (f32 or f64), written in name order."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        dtype = {torch.float32: "F32", torch.float64: "F64"}[t.dtype]
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def f32_randn(g, *shape):
    return torch.randn(*shape, generator=g).float()


def recurrent_case(name, cls, layers, bias, seed, nonlinearity=None, B=2, T=6, I=3, H=5):
    g = torch.Generator().manual_seed(seed)
    kwargs = {"nonlinearity": nonlinearity} if nonlinearity else {}
    torch.manual_seed(seed)
    m32 = cls(I, H, num_layers=layers, bias=bias, batch_first=True, **kwargs)  # f32 init, torch's own
    state = {k: v.detach().clone() for k, v in m32.state_dict().items()}
    m = cls(I, H, num_layers=layers, bias=bias, batch_first=True, **kwargs).double()
    m.load_state_dict({k: v.double() for k, v in state.items()})
    lstm = cls is torch.nn.LSTM
    x = f32_randn(g, B, T, I).double().requires_grad_(True)
    h0 = f32_randn(g, layers, B, H).double().requires_grad_(True)
    c0 = f32_randn(g, layers, B, H).double().requires_grad_(True) if lstm else None
    out, hn = m(x, (h0, c0) if lstm else h0)
    h_n, c_n = hn if lstm else (hn, None)
    seeds = {"seed_out": torch.randn(out.shape, generator=g, dtype=torch.float64),
             "seed_h": torch.randn(h_n.shape, generator=g, dtype=torch.float64)}
    loss = (out * seeds["seed_out"]).sum() + (h_n * seeds["seed_h"]).sum()
    if lstm:
        seeds["seed_c"] = torch.randn(c_n.shape, generator=g, dtype=torch.float64)
        loss = loss + (c_n * seeds["seed_c"]).sum()
    loss.backward()
    ref = {"x": x, "h0": h0, "out": out, "h_n": h_n, "grad.x": x.grad, "grad.h0": h0.grad, **seeds}
    if lstm:
        ref.update({"c0": c0, "c_n": c_n, "grad.c0": c0.grad})
    for k, p in m.named_parameters():
        ref["grad." + k] = p.grad
    write_safetensors(os.path.join(DATA, f"mixer_{name}_state.safetensors"), state)
    write_safetensors(os.path.join(DATA, f"mixer_{name}_ref.safetensors"), {k: v.double() for k, v in ref.items()})


def rope_pairs(x, theta=10000.0):
    """RoFormer's rotation: pair (2i, 2i+1) at position p turned by p * theta^(-2i/D). x: [B, H, T, D]."""
    T, D = x.shape[2], x.shape[3]
    freq = theta ** (-torch.arange(0, D, 2, dtype=x.dtype) / D)      # [D/2]
    angle = torch.arange(T, dtype=x.dtype)[:, None] * freq[None, :]  # [T, D/2]
    c, s = torch.cos(angle), torch.sin(angle)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).reshape(x.shape)


def linear_attention_reference(q, k, v, rope):
    """Causal linear attention written as the explicit sums of Katharopoulos et al. (eq. 9) with
    phi = elu + 1 and, with rope, RoFormer's eq. 19 (rotation in the numerator only)."""
    fq, fk = torch.nn.functional.elu(q) + 1, torch.nn.functional.elu(k) + 1
    rq, rk = (rope_pairs(fq), rope_pairs(fk)) if rope else (fq, fk)
    T = q.shape[2]
    keep = torch.tril(torch.ones(T, T, dtype=q.dtype))  # n <= m
    num = ((rq @ rk.transpose(-1, -2)) * keep) @ v
    den = ((fq @ fk.transpose(-1, -2)) * keep).sum(-1, keepdim=True)
    return num / den


def function_case(name, fn, shapes, seed):
    """Inputs drawn in f32, reference in f64: inputs, seed_out, out, grad.<input>."""
    g = torch.Generator().manual_seed(seed)
    inputs = {k: f32_randn(g, *shape).double().requires_grad_(True) for k, shape in shapes.items()}
    out = fn(**inputs)
    seed_out = torch.randn(out.shape, generator=g, dtype=torch.float64)
    (out * seed_out).sum().backward()
    ref = {"out": out, "seed_out": seed_out}
    for k, t in inputs.items():
        ref[k] = t
        ref["grad." + k] = t.grad
    write_safetensors(os.path.join(DATA, f"mixer_{name}_ref.safetensors"), {k: v.double() for k, v in ref.items()})


def s4d_reference(u, log_dt, log_A_real, A_imag, C, D):
    """S4D (Gu et al. 2022) with torch's complex numbers: ZOH, kernel K_l = 2 Re(sum_n C_n Bbar_n Abar_n^l),
    applied as a causal convolution by FFT (zero-padded to 2T). u: [B, T, H]."""
    T = u.shape[1]
    A = -torch.exp(log_A_real) + 1j * A_imag                 # [H, N]
    dtA = A * torch.exp(log_dt)[:, None]
    CB = torch.view_as_complex(C) * (torch.exp(dtA) - 1) / A  # [H, N]
    l = torch.arange(T, dtype=u.dtype)
    K = 2 * (CB[:, :, None] * torch.exp(dtA[:, :, None] * l)).sum(1).real  # [H, T]
    uf = torch.fft.rfft(u.transpose(1, 2), n=2 * T)          # [B, H, T+1]
    y = torch.fft.irfft(uf * torch.fft.rfft(K, n=2 * T), n=2 * T)[..., :T]
    return y.transpose(1, 2) + u * D


def block_case(name, state, fn, x32, g):
    """A block with a state dict (f32 values): the reference in f64 from those values, fn(x, params) -> out.
    Writes the state dict and x, seed_out, out, grad.x, grad.<param>."""
    params = {k: v.double().requires_grad_(True) for k, v in state.items()}
    x = x32.double().requires_grad_(True)
    out = fn(x, params)
    seed_out = torch.randn(out.shape, generator=g, dtype=torch.float64)
    (out * seed_out).sum().backward()
    ref = {"x": x, "out": out, "seed_out": seed_out, "grad.x": x.grad}
    for k, t in params.items():
        ref["grad." + k] = t.grad
    write_safetensors(os.path.join(DATA, f"mixer_{name}_state.safetensors"), state)
    write_safetensors(os.path.join(DATA, f"mixer_{name}_ref.safetensors"), {k: v.double() for k, v in ref.items()})


def mamba_reference(x, p, d_conv):
    """The Mamba block (Gu & Dao 2023, section 3 and the reference mamba_simple.py) written with torch ops:
    depthwise causal conv by F.conv1d(groups=E), the selective scan as its sequential recurrence."""
    F = torch.nn.functional
    E = p["D"].shape[0]
    N = p["A_log"].shape[1]
    R = p["dt_proj.weight"].shape[1]
    T = x.shape[1]
    xz = x @ p["in_proj.weight"].T
    xi, z = xz[..., :E], xz[..., E:]
    xc = F.conv1d(xi.transpose(1, 2), p["conv1d.weight"], p["conv1d.bias"], padding=d_conv - 1, groups=E)
    xc = F.silu(xc[..., :T].transpose(1, 2))                                   # [B, T, E]
    dbc = xc @ p["x_proj.weight"].T
    delta = F.softplus(dbc[..., :R] @ p["dt_proj.weight"].T + p["dt_proj.bias"])
    Bm, Cm = dbc[..., R:R + N], dbc[..., R + N:]
    A = -torch.exp(p["A_log"])
    h = torch.zeros(x.shape[0], E, N, dtype=x.dtype)
    ys = []
    for t in range(T):
        d = delta[:, t, :, None]
        h = torch.exp(d * A) * h + d * Bm[:, t, None, :] * xc[:, t, :, None]
        ys.append((h * Cm[:, t, None, :]).sum(-1) + p["D"] * xc[:, t])
    y = torch.stack(ys, 1) * F.silu(z)
    return y @ p["out_proj.weight"].T


def mamba_case(name, d_model, E, N, R, K, seed, B=2, T=9):
    g = torch.Generator().manual_seed(seed)
    shapes = {"in_proj.weight": (2 * E, d_model), "conv1d.weight": (E, 1, K), "conv1d.bias": (E,),
              "x_proj.weight": (R + 2 * N, E), "dt_proj.weight": (E, R), "dt_proj.bias": (E,),
              "out_proj.weight": (d_model, E)}
    state = {k: f32_randn(g, *s) * 0.5 for k, s in shapes.items()}
    state["A_log"] = torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(E, 1)
    state["D"] = torch.ones(E)
    block_case(name, state, lambda x, p: mamba_reference(x, p, K), f32_randn(g, B, T, d_model), g)


def performer_reference(q, k, v, w):
    """FAVOR+ (Choromanski et al. 2021, eq. 5 and section 2.4 with the positive features of Lemma 1):
    phi(x) = exp(w x' - |x'|^2/2)/sqrt(M), x' = x / D^(1/4), then the explicit causal sums."""
    D, M = q.shape[-1], w.shape[0]

    def phi(x):
        x = x / D ** 0.25
        return torch.exp(x @ w.T - (x * x).sum(-1, keepdim=True) / 2) / M ** 0.5

    fq, fk = phi(q), phi(k)
    T = q.shape[2]
    a = (fq @ fk.transpose(-1, -2)) * torch.tril(torch.ones(T, T, dtype=q.dtype))
    return (a @ v) / a.sum(-1, keepdim=True)


def flash_reference(x, p, C, n):
    """FLASH (Hua et al. 2022, sections 2-3): GAU with squared-ReLU scores inside chunks of C, linear
    attention across chunks, written as explicit per-pair weights over the whole sequence: token j
    contributes to token m (j <= m) with relu(q_quad_m.k_quad_j/sqrt(s) + rel_bias[m-j])^2 / C when both
    are in one chunk, with q_lin_m.k_lin_j / n when j's chunk is earlier."""
    F = torch.nn.functional
    T = x.shape[1]
    e = p["hidden.weight"].shape[0] // 2
    s = p["qk.weight"].shape[0]
    h = F.silu(x @ p["hidden.weight"].T + p["hidden.bias"])
    u, v = h[..., :e], h[..., e:]
    z = F.silu(x @ p["qk.weight"].T + p["qk.bias"])
    qq, ql, kq, kl = (z * p["gamma"][r] + p["beta"][r] for r in range(4))
    idx = torch.arange(T)
    same = (idx[:, None] // C) == (idx[None, :] // C)
    causal = idx[None, :] <= idx[:, None]
    lag = (idx[:, None] - idx[None, :]).clamp(0, C - 1)
    quad = F.relu(qq @ kq.transpose(1, 2) / s ** 0.5 + p["rel_bias"][lag]) ** 2 / C
    lin = (ql @ kl.transpose(1, 2)) / n
    w = torch.where(same & causal, quad, torch.where(causal, lin, torch.zeros_like(lin)))
    mixed = u * (w @ v)
    return mixed @ p["out.weight"].T + p["out.bias"]


def flash_case(name, d, e, s, C, n, seed, B=2, T=11):
    g = torch.Generator().manual_seed(seed)
    shapes = {"hidden.weight": (2 * e, d), "hidden.bias": (2 * e,), "qk.weight": (s, d), "qk.bias": (s,),
              "gamma": (4, s), "beta": (4, s), "rel_bias": (C,), "out.weight": (d, e), "out.bias": (d,)}
    state = {k: f32_randn(g, *sh) * 0.7 for k, sh in shapes.items()}
    block_case(name, state, lambda x, p: flash_reference(x, p, C, n), f32_randn(g, B, T, d), g)


def pattern_mask(kind, T, l, c=1):
    """Which keys j each query i sees (Child et al. 2019, sec. 4.2; a sliding window for local), causal."""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    causal = j <= i
    if kind == "local":
        return causal & (i - j < l)
    if kind == "strided":
        return causal & ((i - j < l) | ((i - j) % l == 0))
    return causal & ((i // l == j // l) | (j % l >= l - c))  # fixed


def pattern_reference(q, k, v, kind, l, c=1):
    """Dense softmax attention with the pattern as a mask (-inf outside it)."""
    scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    scores = scores.masked_fill(~pattern_mask(kind, q.shape[2], l, c), float("-inf"))
    return torch.softmax(scores, -1) @ v


def main():
    os.makedirs(DATA, exist_ok=True)
    recurrent_case("rnn", torch.nn.RNN, layers=2, bias=True, seed=11)
    recurrent_case("rnn_relu", torch.nn.RNN, layers=1, bias=False, seed=12, nonlinearity="relu")
    recurrent_case("lstm", torch.nn.LSTM, layers=2, bias=True, seed=13)
    recurrent_case("gru", torch.nn.GRU, layers=2, bias=True, seed=14)
    recurrent_case("gru_nobias", torch.nn.GRU, layers=1, bias=False, seed=15)
    qkv = {"q": (2, 2, 9, 4), "k": (2, 2, 9, 4), "v": (2, 2, 9, 3)}
    function_case("linear", lambda q, k, v: linear_attention_reference(q, k, v, False), qkv, seed=21)
    function_case("s4d", s4d_reference, {"u": (2, 12, 3), "log_dt": (3,), "log_A_real": (3, 4), "A_imag": (3, 4),
                                         "C": (3, 4, 2), "D": (3,)}, seed=23)
    mamba_case("mamba", d_model=4, E=8, N=3, R=2, K=3, seed=24)
    function_case("performer", performer_reference, {"q": (1, 2, 9, 4), "k": (1, 2, 9, 4), "v": (1, 2, 9, 3),
                                                      "w": (6, 4)}, seed=25)
    flash_case("flash", d=4, e=8, s=5, C=4, n=16, seed=26)
    qkv10 = {"q": (1, 2, 10, 4), "k": (1, 2, 10, 4), "v": (1, 2, 10, 3)}
    function_case("local", lambda q, k, v: pattern_reference(q, k, v, "local", 3), qkv10, seed=27)
    function_case("strided", lambda q, k, v: pattern_reference(q, k, v, "strided", 3), qkv10, seed=28)
    function_case("fixed", lambda q, k, v: pattern_reference(q, k, v, "fixed", 4, 2), qkv10, seed=29)
    function_case("linear_rope", lambda q, k, v: linear_attention_reference(q, k, v, True), qkv, seed=22)


if __name__ == "__main__":
    main()
