#!/usr/bin/python3
"""PyTorch peer of rotor's `rotor vision` models (rotor/models/fashion_cnn.h, vae.h, nade.h, made.h, vqvae.h): the same
architectures, PyTorch's default initialisation (which rotor's nn modules copy), AdamW with the same
options, the same binarization (pixel = 1 when x/255 > 0.5).

    /usr/bin/python3 bench/vision_peer.py speed --model cnn --steps 100 --threads 1
        -> prints "steps_per_second X"
    /usr/bin/python3 bench/vision_peer.py train --model cnn --epochs 5 --seed 1
        -> trains on Fashion-MNIST and prints the test figures (test_accuracy / test_nll_nats)
    /usr/bin/python3 bench/vision_peer.py train --model dcgan --steps 600 --seed 1
        -> dcgan (DCGAN init N(0, 0.02), Adam 2e-4 (0.5, 0.999), constant lr): mean losses per 50 steps

vqvae trains on the grey values (not binarized) and prints test_mse, codebook_perplexity, codes_used;
`--max-steps N` stops after N steps (the cosine schedule then spans N steps, as rotor's --max-steps).
`train --log-every N` prints the mean training loss every N steps (rotor's metrics.csv train_loss; vqvae adds the
running count of restarted codes). bench/vision_seeds.sh compares the final figures over several seeds.

tests/models/make_vision_reference.py imports the model classes from here.
"""
import argparse
import gzip
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


class Cnn(nn.Module):
    def __init__(self, c1=16, c2=32, hidden=128):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c2)
        self.fc1 = nn.Linear(c2 * 49, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        h = F.max_pool2d(F.relu(self.bn2(self.conv2(h))), 2)
        return self.fc2(F.relu(self.fc1(h.flatten(1))))

    def loss(self, x, y):
        return F.cross_entropy(self(x), y)


class Vae(nn.Module):
    def __init__(self, hidden=400, latent=20):
        super().__init__()
        self.latent = latent
        self.fc1 = nn.Linear(784, hidden)
        self.fc_mu = nn.Linear(hidden, latent)
        self.fc_logvar = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def negative_elbo(self, x, eps):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc_mu(h), self.fc_logvar(h)
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = self.fc4(F.relu(self.fc3(z)))
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        kl = 0.5 * (mu * mu + logvar.exp() - 1 - logvar).sum(1)
        return rec + kl

    def loss(self, x, y):
        x = (x > 0.5).to(x.dtype).reshape(x.shape[0], 784)
        return self.negative_elbo(x, torch.randn(x.shape[0], self.latent, dtype=x.dtype)).mean()


class Made(nn.Module):
    """One hidden layer, natural ordering, hidden degrees drawn uniformly (rotor's mask set 0)."""
    def __init__(self, hidden=500):
        super().__init__()
        self.hidden0 = nn.Linear(784, hidden)
        self.out = nn.Linear(hidden, 784)
        m0 = torch.arange(1, 785)
        m1 = torch.randint(1, 784, (hidden,))
        self.register_buffer("mask0", (m1[:, None] >= m0[None, :]).float())
        self.register_buffer("mask1", (m0[:, None] > m1[None, :]).float())

    def loss(self, x, y):
        x = (x > 0.5).to(x.dtype).reshape(x.shape[0], 784)
        h = F.relu(F.linear(x, self.hidden0.weight * self.mask0, self.hidden0.bias))
        logits = F.linear(h, self.out.weight * self.mask1, self.out.bias)
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()


class Nade(nn.Module):
    """rotor/models/nade.h, raster order: h_t = sigmoid(c + sum_{s<t} W[s] x_s), logit_t = b_t + V[t] . h_t,
    the running sum a loop over t (1.3 steps/s at batch 64, 1 thread; the vectorised form, an exclusive cumsum
    over a [B, 784, hidden] tensor, ran 0.8)."""
    def __init__(self, hidden=500):
        super().__init__()
        w, v = 1 / math.sqrt(784), 1 / math.sqrt(hidden)
        self.W = nn.Parameter(torch.empty(784, hidden).uniform_(-w, w))
        self.c = nn.Parameter(torch.zeros(hidden))
        self.V = nn.Parameter(torch.empty(784, hidden).uniform_(-v, v))
        self.b = nn.Parameter(torch.zeros(784))

    def nll(self, x):
        a, out = self.c.expand(x.shape[0], -1), []
        for t in range(784):
            out.append((torch.sigmoid(a) * self.V[t]).sum(1) + self.b[t])
            a = a + x[:, t:t + 1] * self.W[t]
        logits = torch.stack(out, 1)
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)

    def loss(self, x, y):
        return self.nll((x > 0.5).to(x.dtype).reshape(x.shape[0], 784)).mean()


class GanGenerator(nn.Module):
    """rotor/models/gan.h: z - fc - BN - ReLU - ConvT 4x4/2 - BN - ReLU - ConvT 4x4/2 - tanh."""
    def __init__(self, z=64, g=64):
        super().__init__()
        self.g = g
        self.fc = nn.Linear(z, 2 * g * 49)
        self.bn0 = nn.BatchNorm2d(2 * g)
        self.up1 = nn.ConvTranspose2d(2 * g, g, 4, 2, 1)
        self.bn1 = nn.BatchNorm2d(g)
        self.up2 = nn.ConvTranspose2d(g, 1, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.bn0(self.fc(z).reshape(-1, 2 * self.g, 7, 7)))
        return torch.tanh(self.up2(F.relu(self.bn1(self.up1(h)))))


class GanCritic(nn.Module):
    """Conv 4x4/2 - LeakyReLU 0.2 - Conv 4x4/2 - [BN] - LeakyReLU 0.2 - fc -> 1."""
    def __init__(self, d=64, batch_norm=True):
        super().__init__()
        self.conv1 = nn.Conv2d(1, d, 4, 2, 1)
        self.conv2 = nn.Conv2d(d, 2 * d, 4, 2, 1)
        self.bn = nn.BatchNorm2d(2 * d) if batch_norm else None
        self.fc = nn.Linear(2 * d * 49, 1)

    def forward(self, x):
        h = self.conv2(F.leaky_relu(self.conv1(x), 0.2))
        if self.bn is not None:
            h = self.bn(h)
        return self.fc(F.leaky_relu(h, 0.2).flatten(1))


def dcgan_init(module):
    """Weights N(0, 0.02), BatchNorm scales N(1, 0.02), biases 0 (rotor's dcgan_init)."""
    for name, p in module.named_parameters():
        with torch.no_grad():
            if name.endswith("bias"):
                p.zero_()
            else:
                p.normal_(1.0 if "bn" in name else 0.0, 0.02)


class Dcgan(nn.Module):
    """The non-saturating DCGAN of rotor's `dcgan`: per batch one discriminator step (fresh z), then one
    generator step (fresh z); Adam lr 2e-4, betas (0.5, 0.999)."""
    def __init__(self, z=64, g=64, d=64, freeze_critic=False):
        super().__init__()
        self.z = z
        self.freeze_critic = freeze_critic
        self.generator = GanGenerator(z, g)
        self.critic = GanCritic(d, True)
        dcgan_init(self)
        self.opt_d = torch.optim.Adam(self.critic.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step(self, x):
        """One discriminator and one generator update on real images x in [0, 1]; returns (d_loss, g_loss)."""
        real = x * 2 - 1
        n = real.shape[0]
        with torch.no_grad():
            fake = self.generator(torch.randn(n, self.z))
        d_real, d_fake = self.critic(real), self.critic(fake)
        d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        if self.freeze_critic:  # the generator step computes no critic weight gradients (as rotor's phases)
            self.critic.requires_grad_(False)
        d_fake = self.critic(self.generator(torch.randn(n, self.z)))
        g_loss = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        if self.freeze_critic:
            self.critic.requires_grad_(True)
        return d_loss.item(), g_loss.item()


class WganGp(nn.Module):
    """rotor's `wgan-gp`: the critic without BatchNorm; per batch one critic step on
    E[D(G(z))] - E[D(x)] + lam E[(||grad_x D(x_hat)||_2 - 1)^2], x_hat = e x + (1 - e) G(z), e ~ U(0, 1) per image,
    then after every n_critic-th batch one generator step on -E[D(G(z))] with the critic's weights frozen;
    Adam lr 1e-4, betas (0, 0.9), lam 10, n_critic 5, DCGAN init."""
    def __init__(self, z=64, g=64, d=64, n_critic=5, lam=10.0):
        super().__init__()
        self.z, self.n_critic, self.lam, self.batches = z, n_critic, lam, 0
        self.generator = GanGenerator(z, g)
        self.critic = GanCritic(d, False)
        dcgan_init(self)
        self.opt_d = torch.optim.Adam(self.critic.parameters(), lr=1e-4, betas=(0.0, 0.9))
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=1e-4, betas=(0.0, 0.9))

    def step(self, x):
        """One critic update (and a generator update on every n_critic-th call); returns the step's figures."""
        real = x * 2 - 1
        n = real.shape[0]
        with torch.no_grad():
            fake = self.generator(torch.randn(n, self.z))
        estimate = self.critic(real).mean() - self.critic(fake).mean()
        e = torch.rand(n, 1, 1, 1)
        penalty = gradient_penalty(self.critic, e * real + (1 - e) * fake, self.lam)
        loss = penalty - estimate
        self.opt_d.zero_grad()
        loss.backward()
        self.opt_d.step()
        figures = {"critic_loss": loss.item(), "wasserstein": estimate.item(), "gradient_penalty": penalty.item()}
        self.batches += 1
        if self.batches % self.n_critic == 0:
            self.critic.requires_grad_(False)
            g_loss = -self.critic(self.generator(torch.randn(n, self.z))).mean()
            self.opt_g.zero_grad()
            g_loss.backward()
            self.opt_g.step()
            self.critic.requires_grad_(True)
            figures["generator_loss"] = g_loss.item()
        return figures


def gradient_penalty(critic, x_hat, lam=10.0):
    """WGAN-GP's lam * mean((||grad_x D(x_hat)||_2 - 1)^2), differentiable in the critic's parameters."""
    x_hat = x_hat.detach().requires_grad_(True)
    d = critic(x_hat)
    (gx,) = torch.autograd.grad(d, x_hat, torch.ones_like(d), create_graph=True)
    return lam * ((gx.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gan_train(args):
    """dcgan or wgan-gp with a constant learning rate (rotor: --constant-lr); prints per 50 steps the mean of
    each figure over the steps that reported it (as rotor's metrics.csv rows): "step N name mean name mean ..."."""
    torch.manual_seed(args.seed)
    images, _ = load_split(True)
    images = images[:args.train_limit] if args.train_limit else images
    model = Dcgan() if args.model == "dcgan" else WganGp()
    model.train()
    per_epoch = images.shape[0] // args.batch
    step, sums = 0, {}
    while step < args.steps:
        order = torch.randperm(images.shape[0])
        for b in range(per_epoch):
            if step >= args.steps:
                break
            figures = model.step(images[order[b * args.batch:(b + 1) * args.batch]])
            if isinstance(figures, tuple):
                figures = {"discriminator_loss": figures[0], "generator_loss": figures[1]}
            for key, value in figures.items():
                total, count = sums.get(key, (0.0, 0))
                sums[key] = (total + value, count + 1)
            step += 1
            if step % 50 == 0:
                print(f"step {step} " + " ".join(f"{k} {t / c:.4f}" for k, (t, c) in sums.items()), flush=True)
                sums = {}


class VqVae(nn.Module):
    """rotor/models/vqvae.h: conv encoder to a 7x7 grid of D-vectors, nearest of K codes (straight through),
    conv-transpose decoder; EMA codebook (Laplace-smoothed counts) and restart of dead codes
    (rotor/nn/vector_quantizer.h), both inside loss() in training mode."""
    def __init__(self, channels=32, codes=128, dim=16, beta=0.25, decay=0.99, epsilon=1e-5, dead_threshold=1.0):
        super().__init__()
        c = channels
        self.dim, self.codes, self.beta, self.decay = dim, codes, beta, decay
        self.epsilon, self.dead_threshold = epsilon, dead_threshold
        self.restarts = 0  # codes restarted so far (train --log-every prints it)
        self.register_buffer("codebook", torch.randn(codes, dim))
        self.register_buffer("cluster_size", torch.ones(codes, dtype=torch.float64))
        self.register_buffer("embed_sum", self.codebook.double().clone())
        self.enc1 = nn.Conv2d(1, c, 4, stride=2, padding=1)
        self.enc2 = nn.Conv2d(c, 2 * c, 4, stride=2, padding=1)
        self.enc3 = nn.Conv2d(2 * c, dim, 1)
        self.dec1 = nn.Conv2d(dim, 2 * c, 3, padding=1)
        self.dec2 = nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1)
        self.dec3 = nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1)

    def encode(self, x):
        h = self.enc3(F.relu(self.enc2(F.relu(self.enc1(x)))))
        return h.permute(0, 2, 3, 1).reshape(-1, self.dim)

    def decode(self, zq):
        g = zq.reshape(-1, 7, 7, self.dim).permute(0, 3, 1, 2)
        return self.dec3(F.relu(self.dec2(F.relu(self.dec1(g)))))

    def quantize(self, z):
        e = self.codebook.to(z.dtype)
        codes = ((e * e).sum(1)[None, :] - 2 * z.detach() @ e.t()).argmin(1)
        chosen = e[codes]
        return z + (chosen - z).detach(), ((z - chosen) ** 2).mean(), codes

    @torch.no_grad()
    def ema_update(self, z, codes):
        z = z.double()
        onehot = F.one_hot(codes, self.codes).double()
        d = self.decay
        self.cluster_size.mul_(d).add_((1 - d) * onehot.sum(0))
        self.embed_sum.mul_(d).add_((1 - d) * onehot.t() @ z)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.epsilon) / (n + self.codes * self.epsilon) * n
        book = self.embed_sum / smoothed[:, None]
        dead = (self.cluster_size < self.dead_threshold).nonzero().flatten()
        if dead.numel() > 0:
            rows = z[torch.randint(0, z.shape[0], (dead.numel(),))]
            book[dead] = rows
            self.embed_sum[dead] = rows
            self.cluster_size[dead] = 1.0
        self.restarts += dead.numel()
        self.codebook.copy_(book)

    def loss(self, x, y):
        z = self.encode(x)
        zq, commitment, codes = self.quantize(z)
        total = F.mse_loss(self.decode(zq), x) + self.beta * commitment
        if self.training:
            self.ema_update(z.detach(), codes)
        return total


class PatchDiscriminator(nn.Module):
    """rotor/models/vqgan.h: conv 4x4/2 - LeakyReLU 0.2 - conv 4x4/2 - LeakyReLU 0.2 - conv 3x3 -> [N, 1, 7, 7] logits."""
    def __init__(self, channels=32):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1)
        self.conv3 = nn.Conv2d(2 * channels, 1, 3, padding=1)

    def forward(self, x):
        return self.conv3(F.leaky_relu(self.conv2(F.leaky_relu(self.conv1(x), 0.2)), 0.2))


def hinge_d_loss(real, fake):
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def hinge_g_loss(fake):
    return -fake.mean()


def adaptive_weight(rec, gan, last_layer):
    """VQGAN's lambda = ||grad rec|| / (||grad gan|| + 1e-4) on the decoder's last layer, clamped to [0, 1e4]."""
    (g_rec,) = torch.autograd.grad(rec, last_layer, retain_graph=True)
    (g_gan,) = torch.autograd.grad(gan, last_layer, retain_graph=True)
    return torch.clamp(g_rec.norm() / (g_gan.norm() + 1e-4), 0.0, 1e4).detach()


def vqgan_autoencoder_loss(vqvae, disc, x, beta, disc_weight):
    """Stage 1's autoencoder loss with the GAN term on (rotor's VqGan::autoencoder_loss, no EMA step)."""
    z = vqvae.encode(x)
    zq, commitment, codes = vqvae.quantize(z)
    recon = vqvae.decode(zq)
    rec = (recon - x).abs().mean()
    gan = hinge_g_loss(disc(recon))
    lam = adaptive_weight(rec, gan, vqvae.dec3.weight)
    return rec + beta * commitment + disc_weight * lam * gan, rec, commitment, gan, lam, recon


def load_split(train):
    prefix = "train" if train else "t10k"
    with gzip.open(os.path.join(DATA, f"{prefix}-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    n = struct.unpack(">I", raw[4:8])[0]
    images = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(n, 1, 28, 28).float() / 255.0
    with gzip.open(os.path.join(DATA, f"{prefix}-labels-idx1-ubyte.gz")) as f:
        labels = torch.frombuffer(bytearray(f.read()[8:]), dtype=torch.uint8).long()
    return images, labels


def make(name, args=None):
    if name == "vqvae" and args is not None and args.dead_threshold is not None:
        return VqVae(dead_threshold=args.dead_threshold)
    return {"cnn": Cnn, "vae": Vae, "made": Made, "nade": Nade, "vqvae": VqVae}[name]()


def speed(args):
    torch.manual_seed(args.seed)
    images, labels = load_split(True)
    if args.model in ("dcgan", "wgan-gp"):  # dcgan: a D and a G update; wgan-gp: a critic update (+ G every 5th)
        model = Dcgan(freeze_critic=args.freeze_critic) if args.model == "dcgan" else WganGp()
        model.train()
        for i in range(10):
            model.step(images[torch.randint(0, images.shape[0], (args.batch,))])
        t0 = time.perf_counter()
        for i in range(args.steps):
            model.step(images[torch.randint(0, images.shape[0], (args.batch,))])
        print(f"steps_per_second {args.steps / (time.perf_counter() - t0):.3f}")
        return
    model = make(args.model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    def step(i):
        idx = torch.randint(0, images.shape[0], (args.batch,))
        opt.zero_grad()
        model.loss(images[idx], labels[idx]).backward()
        opt.step()
    for i in range(10):
        step(i)
    t0 = time.perf_counter()
    for i in range(args.steps):
        step(i)
    print(f"steps_per_second {args.steps / (time.perf_counter() - t0):.3f}")


def train(args):
    torch.manual_seed(args.seed)
    images, labels = load_split(True)
    test_images, test_labels = load_split(False)
    model = make(args.model, args)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    per_epoch = images.shape[0] // args.batch
    total = per_epoch * args.epochs
    if args.max_steps > 0:
        total = min(total, args.max_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    model.train()
    step, interval = 0, []
    for epoch in range(args.epochs):
        order = torch.randperm(images.shape[0])
        for b in range(per_epoch):
            if step == total:
                break
            step += 1
            idx = order[b * args.batch:(b + 1) * args.batch]
            opt.zero_grad()
            loss = model.loss(images[idx], labels[idx])
            loss.backward()
            opt.step()
            sched.step()
            if args.log_every:
                interval.append(loss.item())
                if step % args.log_every == 0 or step == total:  # rotor's metrics.csv train_loss: the interval's mean
                    extra = f" restarts {model.restarts}" if args.model == "vqvae" else ""
                    print(f"step {step} train_loss {sum(interval) / len(interval):.6f}{extra}")
                    interval = []
    model.eval()
    with torch.no_grad():
        if args.model == "cnn":
            pred = torch.cat([model(test_images[i:i + 500]).argmax(1) for i in range(0, 10000, 500)])
            print(f"test_accuracy {(pred == test_labels).float().mean().item():.4f}")
        elif args.model == "vqvae":
            sq, usage = 0.0, torch.zeros(model.codes)
            for i in range(0, test_images.shape[0], 500):
                xb = test_images[i:i + 500]
                zq, _, codes = model.quantize(model.encode(xb))
                sq += ((model.decode(zq) - xb) ** 2).sum().item()
                usage += torch.bincount(codes, minlength=model.codes).float()
            p = usage[usage > 0] / usage.sum()
            print(f"test_mse {sq / test_images.numel():.6f}")
            print(f"codebook_perplexity {math.exp(-(p * p.log()).sum().item()):.3f}")
            print(f"codes_used {int((usage > 0).sum().item())}")
        elif args.model in ("nade", "made"):  # exact
            x = (test_images > 0.5).float().reshape(-1, 784)
            nll = sum(model.loss(x[i:i + 500], None).item() * x[i:i + 500].shape[0] for i in range(0, x.shape[0], 500))
            print(f"test_nll_nats {nll / x.shape[0]:.3f}")
        else:
            x = (test_images > 0.5).float().reshape(-1, 784)
            total_nll, k = 0.0, 100
            for i in range(0, x.shape[0], 40):
                xb = x[i:i + 40]
                m = xb.shape[0]
                h = F.relu(model.fc1(xb))
                mu, logvar = model.fc_mu(h), model.fc_logvar(h)
                mu_k, lv_k = mu.repeat_interleave(k, 0), logvar.repeat_interleave(k, 0)
                eps = torch.randn_like(mu_k)
                z = mu_k + torch.exp(0.5 * lv_k) * eps
                logits = model.fc4(F.relu(model.fc3(z)))
                log_px = -F.binary_cross_entropy_with_logits(logits, xb.repeat_interleave(k, 0), reduction="none").sum(1)
                log_pz = -0.5 * (z * z + math.log(2 * math.pi)).sum(1)
                log_qz = -0.5 * (eps * eps + lv_k + math.log(2 * math.pi)).sum(1)
                log_w = (log_px + log_pz - log_qz).reshape(m, k)
                total_nll -= (torch.logsumexp(log_w, 1) - math.log(k)).sum().item()
            print(f"test_nll_nats {total_nll / x.shape[0]:.3f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["speed", "train"])
    p.add_argument("--model", default="cnn", choices=["cnn", "vae", "nade", "made", "vqvae", "dcgan", "wgan-gp"])
    p.add_argument("--train-limit", type=int, default=0)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--freeze-critic", action="store_true",
                   help="dcgan speed: no critic weight gradients in the generator step (PyTorch's DCGAN example computes them)")
    p.add_argument("--log-every", type=int, default=0, help="train: print the mean training loss every N steps")
    p.add_argument("--dead-threshold", type=float, default=None, help="vqvae: EMA count below which a code restarts")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.mode == "speed":
        speed(args)
    elif args.model in ("dcgan", "wgan-gp"):
        gan_train(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
