#!/usr/bin/python3
"""Reference losses and gradients of BLIP's image-text matching head and image-grounded captioning decoder
(rotor/models/blip_model.h), computed by PyTorch in float64 from the equations (attention written out as
softmax(q k^T / sqrt(d_h)) v, written independently of rotor). Run from the repository root:

    OPENBLAS_CORETYPE=Haswell /usr/bin/python3 tests/models/make_blip_reference.py

It writes tests/models/data/blip_reference.json, read by tests/models/blip_test.cpp: a tiny fixed-weight
model (an image-grounded text encoder and a causal decoder of one block each, width 8, 2 heads), image
tokens, token rows [BOS, t_1 .. t_n, EOT, EOT ...] of different lengths, match labels, and
  itm_loss = CE(itm_head(encoder(ids, image)[:, 0]), matches)          (padding after the first EOT masked)
  lm_loss  = mean CE(head(decoder(ids[:, :-1], image)), ids[:, 1:])     over each row's n tokens and its EOT
with the gradients of itm_loss + lm_loss with respect to every weight and the image tokens.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261207)
torch.set_default_dtype(torch.float64)

VOCAB, DIM, HEADS, CTX, IMAGE_TOKENS = 9, 8, 2, 7, 3
EOT, BOS = VOCAB - 2, VOCAB - 1
LENGTHS = [3, 1, 4]  # caption tokens per row; the rows are 4 + 2 = 6 ids long
MATCHES = [1, 0, 0]


def t2j(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(f"{v:.17g}") for v in t.reshape(-1).tolist()]}


def param(name, shape, scale, weights):
    w = (torch.randn(*shape) * scale).requires_grad_(True)
    weights[name] = w
    return w


def linear_params(prefix, n_in, n_out, weights):
    bound = 1 / math.sqrt(n_in)
    w = (torch.rand(n_out, n_in) * 2 - 1) * bound
    b = (torch.rand(n_out) * 2 - 1) * bound
    weights[prefix + ".weight"] = w.requires_grad_(True)
    weights[prefix + ".bias"] = b.requires_grad_(True)


def norm_params(prefix, weights):  # perturbed away from (1, 0) so that their gradients matter
    weights[prefix + ".weight"] = (1 + 0.1 * torch.randn(DIM)).requires_grad_(True)
    weights[prefix + ".bias"] = (0.1 * torch.randn(DIM)).requires_grad_(True)


def transformer_params(prefix, weights):
    param(prefix + ".token.weight", (VOCAB, DIM), 0.5, weights)
    param(prefix + ".position.weight", (CTX, DIM), 0.5, weights)
    block = prefix + ".layers.0"
    norm_params(block + ".norm1", weights)
    for p in ("q", "k", "v", "out"):
        linear_params(f"{block}.self_attn.{p}", DIM, DIM, weights)
    norm_params(block + ".norm2", weights)
    for p in ("q", "k", "v", "out"):
        linear_params(f"{block}.cross_attn.{p}", DIM, DIM, weights)
    norm_params(block + ".norm3", weights)
    linear_params(block + ".mlp.up", DIM, 4 * DIM, weights)
    linear_params(block + ".mlp.down", 4 * DIM, DIM, weights)
    norm_params(prefix + ".norm", weights)


def lin(x, w, prefix):
    return x @ w[prefix + ".weight"].t() + w[prefix + ".bias"]


def layer_norm(x, w, prefix):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-5) * w[prefix + ".weight"] + w[prefix + ".bias"]


def attention(xq, xkv, w, prefix, blocked):
    """Multi-head attention; blocked: [B, Tq, Tk] bool, True where a query may not see a key (or None)."""
    B, Tq, _ = xq.shape
    Tk = xkv.shape[1]
    dh = DIM // HEADS
    q = lin(xq, w, prefix + ".q").reshape(B, Tq, HEADS, dh).transpose(1, 2)
    k = lin(xkv, w, prefix + ".k").reshape(B, Tk, HEADS, dh).transpose(1, 2)
    v = lin(xkv, w, prefix + ".v").reshape(B, Tk, HEADS, dh).transpose(1, 2)
    scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
    if blocked is not None:
        scores = scores.masked_fill(blocked[:, None], float("-inf"))
    y = torch.softmax(scores, -1) @ v  # [B, H, Tq, dh]
    return lin(y.transpose(1, 2).reshape(B, Tq, DIM), w, prefix + ".out")


def transformer(ids, image, w, prefix, causal, lengths):
    B, T = ids.shape
    x = w[prefix + ".token.weight"][ids] + w[prefix + ".position.weight"][:T]
    if causal:
        blocked = torch.triu(torch.ones(T, T, dtype=torch.bool), 1).expand(B, T, T)
    else:  # keys past each row's first EOT (at n + 1) are padding
        keys = torch.arange(T)[None, :] > torch.tensor(lengths)[:, None] + 1  # [B, T]
        blocked = keys[:, None, :].expand(B, T, T)
    block = prefix + ".layers.0"
    u = layer_norm(x, w, block + ".norm1")
    x = x + attention(u, u, w, block + ".self_attn", blocked)
    x = x + attention(layer_norm(x, w, block + ".norm2"), image, w, block + ".cross_attn", None)
    h = lin(layer_norm(x, w, block + ".norm3"), w, block + ".mlp.up")
    x = x + lin(0.5 * h * (1 + torch.erf(h / math.sqrt(2))), w, block + ".mlp.down")
    return layer_norm(x, w, prefix + ".norm")


def main():
    weights = {}
    transformer_params("fusion", weights)
    linear_params("itm_head", DIM, 2, weights)
    transformer_params("decoder", weights)
    linear_params("head", DIM, VOCAB, weights)
    image = torch.randn(len(LENGTHS), IMAGE_TOKENS, DIM).requires_grad_(True)

    L = max(LENGTHS) + 2
    rows = []
    for n in LENGTHS:
        tokens = torch.randint(0, EOT, (n,)).tolist()
        rows.append([BOS] + tokens + [EOT] * (L - 1 - n))
    ids = torch.tensor(rows)

    h = transformer(ids, image, weights, "fusion", False, LENGTHS)
    itm_logits = lin(h[:, 0], weights, "itm_head")
    itm_loss = F.cross_entropy(itm_logits, torch.tensor(MATCHES))

    logits = lin(transformer(ids[:, :-1], image, weights, "decoder", True, LENGTHS), weights, "head")
    targets = ids[:, 1:].clone()
    for b, n in enumerate(LENGTHS):
        targets[b, n + 1:] = -100
    lm_loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), ignore_index=-100)
    (itm_loss + lm_loss).backward()

    out = {
        "config": {"vocab": VOCAB, "dim": DIM, "heads": HEADS, "ctx": CTX, "layers": 1},
        "ids": {"shape": list(ids.shape), "data": ids.reshape(-1).tolist()},
        "lengths": LENGTHS,
        "matches": MATCHES,
        "image": t2j(image),
        "weights": {k: t2j(v) for k, v in weights.items()},
        "itm_logits": t2j(itm_logits),
        "decoder_logits": t2j(logits),
        "itm_loss": itm_loss.item(),
        "lm_loss": lm_loss.item(),
        "grads": {k: t2j(v.grad) for k, v in weights.items()},
        "image_grad": t2j(image.grad),
    }
    path = os.path.join("tests", "models", "data", "blip_reference.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print(f"wrote {path}: itm {itm_loss.item():.6f}, lm {lm_loss.item():.6f}")


if __name__ == "__main__":
    main()
