#!/usr/bin/python3
"""Reference logits, losses and gradients of rotor's large-margin softmax heads (rotor/nn/margin.h),
metric surrogates (rotor/nn/surrogates.h) and contrastive losses, computed by PyTorch in float64 from
the papers' formulas (written independently of rotor: angles through acos, cos(m theta) directly,
cos(theta + m) directly). Run from the repository root:

    OPENBLAS_CORETYPE=Haswell /usr/bin/python3 tests/nn/make_margin_reference.py

It writes tests/nn/margin_reference.json, read by tests/nn/margin_test.cpp. For every case the
gradients are those of sum(output * seed) with a random seed, and of the mean cross-entropy.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261206)
torch.set_default_dtype(torch.float64)


def t2j(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(f"{v:.17g}") for v in t.reshape(-1).tolist()]}


def cos_matrix(x, w):
    return F.normalize(x, dim=1) @ F.normalize(w, dim=1).t()


def psi(c, m):
    theta = torch.acos(c.clamp(-1, 1))
    k = torch.floor(m * theta / math.pi).clamp(max=m - 1).detach()
    return (-1.0) ** k * torch.cos(m * theta) - 2 * k


def head(kind, x, w, b, y, s, m, lam, easy):
    onehot = F.one_hot(y, w.shape[0]).bool()
    if kind == "softmax":
        return F.linear(x, w, b)
    c = cos_matrix(x, w)
    if kind == "normface":
        return s * c
    if kind in ("lsoftmax", "asoftmax"):
        xn = x.norm(dim=1, keepdim=True)
        scale = xn * w.norm(dim=1)[None, :] if kind == "lsoftmax" else xn
        target = (lam * c + psi(c, int(m))) / (1 + lam)
        return scale * torch.where(onehot, target, c)
    if kind == "cosface":
        return s * torch.where(onehot, c - m, c)
    if kind == "arcface":
        theta = torch.acos(c.clamp(-1, 1))
        phi = torch.cos(theta + m)
        if easy:
            target = torch.where(c > 0, phi, c)
        else:
            target = torch.where(c > math.cos(math.pi - m), phi, c - math.sin(math.pi - m) * m)
        return s * torch.where(onehot, target, c)
    raise ValueError(kind)


cases = []


def add_case(kind, n, d, classes, s=30.0, m=0.5, lam=0.0, easy=False, opposite=False, bias=False):
    x = torch.randn(n, d)
    w = torch.randn(classes, d)
    b = torch.randn(classes) if bias else None
    y = torch.randint(0, classes, (n,))
    if opposite:  # rows whose target angle is near pi (the ArcFace fallback)
        x[0] = -w[y[0]] + 0.05 * torch.randn(d)
        x[1] = -w[y[1]] * 2 + 0.05 * torch.randn(d)
    leaves = [x.clone().requires_grad_(True), w.clone().requires_grad_(True)]
    if bias:
        leaves.append(b.clone().requires_grad_(True))
    out = head(kind, leaves[0], leaves[1], leaves[2] if bias else None, y, s, m, lam, easy)
    seed = torch.randn(out.shape)
    g_out = torch.autograd.grad((out * seed).sum(), leaves)
    out2 = head(kind, leaves[0], leaves[1], leaves[2] if bias else None, y, s, m, lam, easy)
    loss = F.cross_entropy(out2, y)
    g_loss = torch.autograd.grad(loss, leaves)
    cases.append({
        "kind": kind, "s": s, "m": m, "lambda": lam, "easy_margin": easy,
        "x": t2j(x), "w": t2j(w), "b": t2j(b) if bias else None, "targets": y.tolist(),
        "logits": t2j(out), "seed": t2j(seed), "grad_out": [t2j(g) for g in g_out],
        "loss": loss.item(), "grad_loss": [t2j(g) for g in g_loss],
    })


for n, d, classes in [(6, 4, 3), (9, 7, 5)]:
    add_case("softmax", n, d, classes, bias=True)
    add_case("normface", n, d, classes, s=16.0)
    for m in (2, 3, 4):
        add_case("lsoftmax", n, d, classes, m=m, lam=0.0)
        add_case("asoftmax", n, d, classes, m=m, lam=0.0)
    add_case("lsoftmax", n, d, classes, m=4, lam=5.0)
    add_case("asoftmax", n, d, classes, m=4, lam=7.5)
    add_case("cosface", n, d, classes, s=30.0, m=0.35)
    add_case("arcface", n, d, classes, s=30.0, m=0.5, opposite=True)
    add_case("arcface", n, d, classes, s=64.0, m=0.5, easy=True, opposite=True)

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "margin_reference.json"), "w") as f:
    json.dump({"heads": cases}, f)
print(f"wrote {len(cases)} head cases")
