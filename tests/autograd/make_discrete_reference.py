#!/usr/bin/python3
"""Reference Gumbel-softmax samples and gradients, computed by PyTorch's own
torch.nn.functional.gumbel_softmax (soft, and hard with the straight-through gradient) in float64, for
rotor's gumbel_softmax (rotor/autograd/discrete.h). Run from the repository root:

    OPENBLAS_CORETYPE=Haswell /usr/bin/python3 tests/autograd/make_discrete_reference.py

It writes tests/autograd/discrete_reference.json, read by tests/autograd/discrete_test.cpp.

F.gumbel_softmax draws its noise inside (g = -log(Exponential(1))). To hand rotor the same noise, each
case draws g from a seeded generator exactly as F.gumbel_softmax does, then re-seeds and calls
F.gumbel_softmax itself; the script checks that softmax((logits + g) / tau) reproduces its soft output,
so the noise in the file is the one PyTorch used. For every case: logits, noise, tau, hard, the output y,
and the gradient of sum(y * w) with respect to the logits for random weights w.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def t2j(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(f"{v:.17g}") for v in t.reshape(-1).tolist()]}


cases = []


def add_case(shape, tau, hard, seed, scale=1.0):
    torch.manual_seed(seed)
    logits = torch.randn(*shape) * scale
    w = torch.randn(*shape)
    noise_seed = seed + 1000
    torch.manual_seed(noise_seed)
    noise = -torch.empty_like(logits).exponential_().log()
    leaf = logits.clone().requires_grad_(True)
    torch.manual_seed(noise_seed)
    y = F.gumbel_softmax(leaf, tau=tau, hard=hard, dim=-1)
    soft = torch.softmax((logits + noise) / tau, dim=-1)
    if hard:
        assert torch.equal(y.detach().argmax(-1), soft.argmax(-1)), "hard sample is not the soft argmax"
    else:
        assert torch.allclose(y.detach(), soft, rtol=0, atol=1e-14), "noise does not reproduce the sample"
    (grad,) = torch.autograd.grad((y * w).sum(), [leaf])
    cases.append({"tau": tau, "hard": hard, "logits": t2j(logits), "noise": t2j(noise), "weights": t2j(w),
                  "output": t2j(y), "grad": t2j(grad)})


seed = 20261207
for shape in [(4, 5), (2, 3, 6), (1, 2), (7, 10)]:
    for tau in (1.0, 0.5, 2.5):
        for hard in (False, True):
            add_case(shape, tau, hard, seed)
            seed += 1
# Peaked logits and a low temperature: a nearly one-hot soft sample.
add_case((5, 4), 0.1, False, seed, scale=4.0)
add_case((5, 4), 0.1, True, seed + 1, scale=4.0)

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "discrete_reference.json"), "w") as f:
    json.dump({"gumbel_softmax": cases}, f)
print(f"wrote {len(cases)} gumbel_softmax cases")
