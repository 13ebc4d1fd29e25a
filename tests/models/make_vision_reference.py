#!/usr/bin/python3
"""Reference forward/backward of the `rotor vision` models, computed by PyTorch (float32) on the model
classes of bench/vision_peer.py. Run from the repository root:

    OPENBLAS_CORETYPE=Haswell /usr/bin/python3 tests/models/make_vision_reference.py

It writes tests/models/data/vision_reference.json, read by tests/models/vision_test.cpp: for each model
the parameters (rotor's names = PyTorch's), the inputs, the loss, the gradients, and (cnn) the logits and
the BatchNorm running statistics after one training-mode forward; (wgan-gp) a gradient penalty and its
gradient w.r.t. a tiny critic's parameters, in float64.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
from vision_peer import Cnn, GanCritic, Vae, gradient_penalty  # noqa: E402

torch.manual_seed(7)


def t2j(t):
    t = t.detach().double()
    return {"shape": list(t.shape), "data": [float(f"{v:.9g}") for v in t.reshape(-1).tolist()]}


def params_and_grads(model):
    return ({k: t2j(v) for k, v in model.named_parameters()},
            {k: t2j(v.grad) for k, v in model.named_parameters()})


out = {}

cnn = Cnn(4, 6, 16)
x = torch.rand(5, 1, 28, 28)
y = torch.randint(0, 10, (5,))
params = {k: t2j(v) for k, v in cnn.named_parameters()}
cnn.train()
logits = cnn(x)
loss = torch.nn.functional.cross_entropy(logits, y)
loss.backward()
out["cnn"] = {
    "config": {"channels1": 4, "channels2": 6, "hidden": 16},
    "params": params,
    "grads": {k: t2j(v.grad) for k, v in cnn.named_parameters()},
    "images": t2j(x), "labels": [int(v) for v in y],
    "logits": t2j(logits), "loss": loss.item(),
    "buffers": {f"{b}.{s}": t2j(getattr(getattr(cnn, b), s)) for b in ("bn1", "bn2") for s in ("running_mean", "running_var")},
}

vae = Vae(8, 5)
xb = (torch.rand(6, 784) > 0.5).float()
eps = torch.randn(6, 5)
params = {k: t2j(v) for k, v in vae.named_parameters()}
loss = vae.negative_elbo(xb, eps).mean()
loss.backward()
out["vae"] = {
    "config": {"hidden": 8, "latent": 5},
    "params": params,
    "grads": {k: t2j(v.grad) for k, v in vae.named_parameters()},
    "images": t2j(xb), "eps": t2j(eps), "loss": loss.item(),
}

# wgan-gp: the gradient penalty of a tiny critic (d = 2, no BatchNorm; PyTorch's default initialisation so that
# the gradient norms are of order 1) and its gradient w.r.t. the critic's parameters, in float64 on float32
# values (the parameters and x_hat rotor loads).
critic = GanCritic(2, batch_norm=False)
x_hat = torch.rand(3, 1, 28, 28) * 2 - 1
params = {k: t2j(v) for k, v in critic.named_parameters()}
critic = critic.double()
penalty = gradient_penalty(critic, x_hat.double(), 10.0)
penalty.backward()
out["gradient_penalty"] = {
    "config": {"d_channels": 2, "gp_lambda": 10.0},
    "params": params,
    # fc.bias does not reach grad_x D: no gradient (zeros)
    "grads": {k: t2j(v.grad if v.grad is not None else torch.zeros_like(v)) for k, v in critic.named_parameters()},
    "x_hat": t2j(x_hat), "penalty": penalty.item(),
}

path = os.path.join(os.path.dirname(__file__), "data", "vision_reference.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path)
