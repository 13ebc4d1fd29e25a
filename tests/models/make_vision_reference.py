#!/usr/bin/python3
"""Reference forward/backward of the `rotor vision` models, computed by PyTorch (float32) on the model
classes of bench/vision_peer.py. Run from the repository root:

    OPENBLAS_CORETYPE=Haswell /usr/bin/python3 tests/models/make_vision_reference.py

It writes tests/models/data/vision_reference.json, read by tests/models/vision_test.cpp: for each model
the parameters (rotor's names = PyTorch's), the inputs, the loss, the gradients, and (cnn) the logits and
the BatchNorm running statistics after one training-mode forward; (wgan-gp) a gradient penalty and its
gradient w.r.t. a tiny critic's parameters, in float64. "vq": the vector quantizer alone in
float64 (codes, quantized values, commitment, the straight-through gradient to z); "vqvae": the whole
model in float32 (loss, parameter gradients, the codebook state after one EMA update). "hinge": VQGAN's
hinge losses and their gradients in float64; "vqgan": a tiny VQGAN's stage-1 losses in float64 on float32
values: the adaptive weight lambda, the autoencoder loss with the GAN term and its gradients, the hinge
discriminator loss and its gradients.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
from vision_peer import (Cnn, GanCritic, PatchDiscriminator, Vae, VqVae, gradient_penalty,  # noqa: E402
                         hinge_d_loss, hinge_g_loss, vqgan_autoencoder_loss)

torch.manual_seed(7)


def t2j(t):
    t = t.detach().double()
    return {"shape": list(t.shape), "data": [float(f"{v:.9g}") for v in t.reshape(-1).tolist()]}


def t2j64(t):
    t = t.detach().double()
    return {"shape": list(t.shape), "data": [float(repr(v)) for v in t.reshape(-1).tolist()]}


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

# Vector quantizer in float64: loss = sum(w * z_q) + beta * commitment, gradient w.r.t. z.
vq = VqVae(channels=2, codes=5, dim=3)
vq.codebook = torch.randn(5, 3, dtype=torch.float64)
z = torch.randn(12, 3, dtype=torch.float64, requires_grad=True)
w = torch.randn(12, 3, dtype=torch.float64)
zq, commitment, codes = vq.quantize(z)
loss = (w * zq).sum() + 0.25 * commitment
loss.backward()
out["vq"] = {
    "codebook": t2j64(vq.codebook), "z": t2j64(z), "w": t2j64(w), "beta": 0.25,
    "codes": [int(c) for c in codes], "quantized": t2j64(zq), "commitment": float(repr(commitment.item())),
    "loss": float(repr(loss.item())), "grad_z": t2j64(z.grad),
}

# The whole VQ-VAE in float32, training mode: one loss, its gradients, the EMA step (no restarts).
config = {"channels": 4, "codebook_size": 8, "code_dim": 3, "decay": 0.9, "dead_threshold": 0.0}
vqvae = VqVae(channels=4, codes=8, dim=3, decay=0.9, dead_threshold=0.0)
x = torch.rand(3, 1, 28, 28)
params = {k: t2j(v) for k, v in vqvae.named_parameters()}
before = {k: t2j(getattr(vqvae, k)) for k in ("codebook", "cluster_size", "embed_sum")}
vqvae.train()
loss = vqvae.loss(x, None)
loss.backward()
out["vqvae"] = {
    "config": config, "params": params, "images": t2j(x), "loss": loss.item(),
    "grads": {k: t2j(v.grad) for k, v in vqvae.named_parameters()},
    "buffers_before": before,
    "buffers_after": {k: t2j(getattr(vqvae, k)) for k in ("codebook", "cluster_size", "embed_sum")},
}

# VQGAN's hinge losses in float64: d = mean relu(1 - real) + mean relu(1 + fake), g = -mean(fake).
real = (torch.randn(2, 1, 3, 3, dtype=torch.float64) * 1.5).requires_grad_(True)
fake = (torch.randn(2, 1, 3, 3, dtype=torch.float64) * 1.5).requires_grad_(True)
d_loss = hinge_d_loss(real, fake)
d_real, d_fake = torch.autograd.grad(d_loss, [real, fake])
g_loss = hinge_g_loss(fake)
(g_fake,) = torch.autograd.grad(g_loss, fake)
out["hinge"] = {
    "real": t2j64(real), "fake": t2j64(fake), "d_loss": float(repr(d_loss.item())), "g_loss": float(repr(g_loss.item())),
    "d_grad_real": t2j64(d_real), "d_grad_fake": t2j64(d_fake), "g_grad_fake": t2j64(g_fake),
}

# A tiny VQGAN (rotor/models/vqgan.h), stage 1, evaluation mode (no EMA step), float64 on float32 values.
config = {"channels": 2, "codebook_size": 4, "code_dim": 2, "d_channels": 2, "disc_weight": 0.8}
vq = VqVae(channels=2, codes=4, dim=2)
disc = PatchDiscriminator(2)
x = torch.rand(3, 1, 28, 28)
params = {"autoencoder." + k: t2j(v) for k, v in vq.named_parameters()}
params.update({"discriminator." + k: t2j(v) for k, v in disc.named_parameters()})
codebook = t2j(vq.codebook)
vq, disc, x = vq.double(), disc.double(), x.double()
vq.codebook = vq.codebook.double()
total, rec, commitment, gan, lam, recon = vqgan_autoencoder_loss(vq, disc, x, 0.25, 0.8)
ae_grads = torch.autograd.grad(total, list(vq.parameters()))
with torch.no_grad():
    fixed = vq.decode(vq.quantize(vq.encode(x))[0])
d_loss = hinge_d_loss(disc(x), disc(fixed))
d_grads = torch.autograd.grad(d_loss, list(disc.parameters()))
out["vqgan"] = {
    "config": config, "params": params, "codebook": codebook, "images": t2j(x),
    "rec_loss": rec.item(), "commitment": commitment.item(), "gan_loss": gan.item(),
    "adaptive_weight": lam.item(), "loss": total.item(), "d_loss": d_loss.item(),
    "grads": {"autoencoder." + k: t2j64(g) for (k, _), g in zip(vq.named_parameters(), ae_grads)},
    "d_grads": {"discriminator." + k: t2j64(g) for (k, _), g in zip(disc.named_parameters(), d_grads)},
}

path = os.path.join(os.path.dirname(__file__), "data", "vision_reference.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path)
