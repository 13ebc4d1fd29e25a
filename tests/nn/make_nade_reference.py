#!/usr/bin/python3
"""Reference logits and gradients of rotor's NADE op (rotor/nn/nade.h), computed by PyTorch in float64 from
the paper's formula written directly (Larochelle & Murray 2011, eq. 2-3), not by the running sum rotor uses:
for every position t of the ordering, the hidden layer sees the inputs before t through a 0/1 mask,
    h_t = sigmoid(c + (x * m_t) @ W),   m_t[o_s] = 1 for s < t,   logit[o_t] = b[o_t] + V[o_t] . h_t.
Run from the repository root:

    /usr/bin/python3 tests/nn/make_nade_reference.py

It writes tests/nn/data/nade_reference.json, read by tests/nn/nade_test.cpp. The gradients are those of
sum(logits * seed) with a random seed, and of the mean negative log-likelihood of binary x.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261207)
torch.set_default_dtype(torch.float64)


def t2j(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(f"{v:.17g}") for v in t.reshape(-1).tolist()]}


def nade_logits(x, W, c, V, b, order):
    N, D = x.shape
    out = torch.zeros(N, D)
    for t, p in enumerate(order):
        m = torch.zeros(D)
        m[order[:t]] = 1.0
        h = torch.sigmoid(c + (x * m) @ W)
        out[:, p] = b[p] + h @ V[p]
    return out


def case(name, N, D, H, binary):
    order = torch.randperm(D).tolist()
    x = (torch.rand(N, D) < 0.5).double() if binary else torch.randn(N, D)
    x.requires_grad_(True)
    W = (torch.randn(D, H) * 0.7).requires_grad_(True)
    c = (torch.randn(H) * 0.5).requires_grad_(True)
    V = (torch.randn(D, H) * 0.7).requires_grad_(True)
    b = (torch.randn(D) * 0.5).requires_grad_(True)
    logits = nade_logits(x, W, c, V, b, order)
    seed = torch.randn(N, D)
    gx, gW, gc, gV, gb = torch.autograd.grad((logits * seed).sum(), [x, W, c, V, b], retain_graph=True)
    out = {"name": name, "order": order, "x": t2j(x), "W": t2j(W), "c": t2j(c), "V": t2j(V), "b": t2j(b),
           "logits": t2j(logits), "seed": t2j(seed),
           "grads": {"x": t2j(gx), "W": t2j(gW), "c": t2j(gc), "V": t2j(gV), "b": t2j(gb)}}
    if binary:
        nll = F.binary_cross_entropy_with_logits(logits, x.detach(), reduction="none").sum(1).mean()
        nW, nc, nV, nb = torch.autograd.grad(nll, [W, c, V, b])
        out["nll"] = nll.item()
        out["nll_grads"] = {"W": t2j(nW), "c": t2j(nc), "V": t2j(nV), "b": t2j(nb)}
    return out


cases = [case("binary 5x12, 6 hidden", 5, 12, 6, True), case("real 3x9, 4 hidden", 3, 9, 4, False),
         case("binary 4x40, 17 hidden", 4, 40, 17, True)]
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "nade_reference.json")
with open(path + ".tmp", "w") as f:
    json.dump({"cases": cases}, f)
os.replace(path + ".tmp", path)
print("wrote", path)
