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



def scalar_case(name, fn, tensors, extra):
    leaves = [t.clone().requires_grad_(True) for t in tensors]
    loss = fn(*leaves)
    grads = torch.autograd.grad(loss, leaves)
    case = {"name": name, "inputs": [t2j(t) for t in tensors], "loss": loss.item(), "grads": [t2j(g) for g in grads]}
    case.update(extra)
    return case


# --- metric surrogates (rotor/nn/surrogates.h) ---
def soft_acc(logits, y):
    return 1 - F.softmax(logits, dim=1).gather(1, y[:, None]).mean()


def soft_macro_f1(logits, y, eps=1e-7):
    p = F.softmax(logits, dim=1)
    oh = F.one_hot(y, logits.shape[1]).to(p.dtype)
    tp = (p * oh).sum(0)
    fp = (p * (1 - oh)).sum(0)
    fn = ((1 - p) * oh).sum(0)
    return 1 - (2 * tp / (2 * tp + fp + fn + eps)).mean()


def soft_bin_acc(s, y):
    p = torch.sigmoid(s)
    return 1 - (y * p + (1 - y) * (1 - p)).mean()


def soft_bin_f1(s, y, eps=1e-7):
    p = torch.sigmoid(s)
    tp = (p * y).sum()
    fp = (p * (1 - y)).sum()
    fn = ((1 - p) * y).sum()
    return 1 - 2 * tp / (2 * tp + fp + fn + eps)


def pair_auc(s, y, tau):
    pos, neg = s[y == 1], s[y == 0]
    return 1 - torch.sigmoid((pos[:, None] - neg[None, :]) / tau).mean()


surrogates = []
for n, c in [(8, 3), (13, 5)]:
    logits = torch.randn(n, c) * 2
    y = torch.randint(0, c, (n,))
    y[-1] = c - 1
    surrogates.append(scalar_case("soft_accuracy", lambda l: soft_acc(l, y), [logits], {"targets": y.tolist()}))
    surrogates.append(scalar_case("soft_macro_f1", lambda l: soft_macro_f1(l, y), [logits], {"targets": y.tolist()}))
    # a class absent from the batch: its F1 is 0 (eps keeps it defined)
    y2 = torch.randint(0, c - 1, (n,))
    surrogates.append(scalar_case("soft_macro_f1", lambda l: soft_macro_f1(l, y2), [logits], {"targets": y2.tolist()}))
for n in (9, 21):
    s = torch.randn(n) * 2
    y = (torch.rand(n) < 0.3).to(torch.float64)
    y[0], y[1] = 1.0, 0.0
    lab = [int(v) for v in y.tolist()]
    surrogates.append(scalar_case("soft_binary_accuracy", lambda v: soft_bin_acc(v, y), [s], {"labels": lab}))
    surrogates.append(scalar_case("soft_binary_f1", lambda v: soft_bin_f1(v, y), [s], {"labels": lab}))
    for tau in (1.0, 0.25):
        surrogates.append(scalar_case("pairwise_auc", lambda v: pair_auc(v, y, tau), [s], {"labels": lab, "tau": tau}))


# --- contrastive losses (rotor/nn/contrastive.h) ---
def clip(u, v, t):
    u, v = F.normalize(u, dim=1), F.normalize(v, dim=1)
    logits = t.clamp(max=math.log(100)).exp() * u @ v.t()
    lab = torch.arange(u.shape[0])
    return (F.cross_entropy(logits, lab) + F.cross_entropy(logits.t(), lab)) / 2


def siglip(u, v, t, b):
    u, v = F.normalize(u, dim=1), F.normalize(v, dim=1)
    logits = t.exp() * u @ v.t() + b
    z = 2 * torch.eye(u.shape[0]) - 1
    return -F.logsigmoid(z * logits).sum() / u.shape[0]


contrastive = []
for bsz, d in [(6, 4), (11, 8)]:
    u, v = torch.randn(bsz, d), torch.randn(bsz, d)
    v[: bsz // 2] += 1.5 * u[: bsz // 2]  # some aligned pairs
    for t in (math.log(1 / 0.07), 5.0):  # 5.0 > log 100: clamped, no gradient to t
        contrastive.append(scalar_case("clip", clip, [u, v, torch.tensor([t])], {}))
    contrastive.append(scalar_case("siglip", siglip, [u, v, torch.tensor([math.log(10)]), torch.tensor([-10.0])], {}))
    contrastive.append(scalar_case("siglip", siglip, [u, v, torch.tensor([1.3]), torch.tensor([0.4])], {}))

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "margin_reference.json"), "w") as f:
    json.dump({"heads": cases, "surrogates": surrogates, "contrastive": contrastive}, f)
print(f"wrote {len(cases)} head, {len(surrogates)} surrogate and {len(contrastive)} contrastive cases")
