#!/usr/bin/python3
"""Replays rotor's `vision train --model vae` in PyTorch: rotor's initial weights, batch order and
reparameterization noise (rotor's xoshiro256** Rng, Box-Muller normals and Fisher-Yates shuffle ported
exactly), trained by the peer's Vae (bench/vision_peer.py) with torch.optim.AdamW and the same cosine schedule;
prints the loss per step and the test IWAE bound (k = 100, the peer's evaluator). Separates rotor's arithmetic
from its random draws: with the same draws PyTorch follows rotor's loss curve.

    /usr/bin/python3 bench/vae_replay.py --seed 1 --steps 1000 --stream rotor-shared > replay.txt
    build/bin/rotor vision train --model vae --seed 1 --max-steps 1000 --epochs 2 --log-every 1 --out r1
    (compare r1/metrics.csv train_loss with the replay's "step N loss L" rows)

--stream rotor-shared: the trainer's stream before 2026-12-07 (Rng(seed), the numbers the init drew);
rotor-split: the current one, Rng(seed).split(0x747261696e) (rotor/models/vision_trainer.h).
"""
import argparse
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_peer import Vae, load_split  # noqa: E402

M = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    z = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return x, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


class RotorRng:
    """rotor/core/rng.h, value for value."""
    def __init__(self, seed):
        self.s, x = [], seed
        for _ in range(4):
            x, v = splitmix64(x)
            self.s.append(v)
        self.spare = None

    def u64(self):
        s = self.s
        r = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45)
        return r

    def uniform(self):
        return (self.u64() >> 11) * 2.0 ** -53

    def uniform_int(self, n):
        m = self.u64() * n
        if (m & M) < n:
            threshold = ((1 << 64) - n) % n
            while (m & M) < threshold:
                m = self.u64() * n
        return m >> 64

    def normal(self):
        if self.spare is not None:
            v, self.spare = self.spare, None
            return v
        u1 = self.uniform()
        while u1 <= 0.0:
            u1 = self.uniform()
        u2 = self.uniform()
        r = math.sqrt(-2.0 * math.log(u1))
        self.spare = r * math.sin(2.0 * math.pi * u2)
        return r * math.cos(2.0 * math.pi * u2)

    def split(self, stream):
        x = self.u64() ^ ((stream * 0xd1342543de82ef95) & M)
        return RotorRng(splitmix64(x)[1])


def rotor_init(model, seed):
    """nn::Linear's U(+-1/sqrt(fan_in)) weights then bias, in the order vae.cpp builds its layers."""
    rng = RotorRng(seed)
    with torch.no_grad():
        for layer in (model.fc1, model.fc_mu, model.fc_logvar, model.fc3, model.fc4):
            k = 1 / math.sqrt(layer.in_features)
            for p in (layer.weight, layer.bias):
                vals = [-k + 2 * k * rng.uniform() for _ in range(p.numel())]
                p.copy_(torch.tensor(vals, dtype=torch.float64).reshape(p.shape))


@torch.no_grad()
def iwae_nll(model, x, k=100, chunk=40):
    total = 0.0
    for i in range(0, x.shape[0], chunk):
        xb = x[i:i + chunk]
        h = F.relu(model.fc1(xb))
        mu, lv = model.fc_mu(h).repeat_interleave(k, 0), model.fc_logvar(h).repeat_interleave(k, 0)
        eps = torch.randn_like(mu)
        z = mu + torch.exp(0.5 * lv) * eps
        log_px = -F.binary_cross_entropy_with_logits(model.fc4(F.relu(model.fc3(z))), xb.repeat_interleave(k, 0),
                                                     reduction="none").sum(1)
        log_w = log_px - 0.5 * (z * z).sum(1) + 0.5 * (eps * eps + lv).sum(1)  # the 2 pi terms cancel
        total -= (torch.logsumexp(log_w.reshape(xb.shape[0], k), 1) - math.log(k)).sum().item()
    return total / x.shape[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--stream", choices=["rotor-shared", "rotor-split"], default="rotor-split")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = Vae()
    rotor_init(model, a.seed)
    rng = RotorRng(a.seed) if a.stream == "rotor-shared" else RotorRng(a.seed).split(0x747261696e)
    images, _ = load_split(True)
    x = (images > 0.5).float().reshape(-1, 784)
    per_epoch, batch, total = x.shape[0] // 64, 64, a.steps
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    step = 0
    while step < total:
        order = list(range(x.shape[0]))
        for i in range(len(order) - 1, 0, -1):  # rotor's shuffled_order
            j = rng.uniform_int(i + 1)
            order[i], order[j] = order[j], order[i]
        for b in range(per_epoch):
            if step == total:
                break
            idx = torch.tensor(order[b * batch:(b + 1) * batch])
            eps = torch.tensor([rng.normal() for _ in range(batch * model.latent)]).float().reshape(batch, -1)
            opt.zero_grad()
            loss = model.negative_elbo(x[idx], eps).mean()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            print(f"step {step} loss {loss.item():.6f}")
    torch.manual_seed(a.seed)
    test, _ = load_split(False)
    print(f"test_nll_nats {iwae_nll(model, (test > 0.5).float().reshape(-1, 784)):.3f}")


if __name__ == "__main__":
    main()
