"""Reference outputs for tests/models/transformer_test.cpp, computed by an independent PyTorch
implementation of rotor's transformer in float64. The case encoder_mlm (bidirectional, masked-LM targets
with -100 at the positions not chosen) is for tests/models/masked_lm_test.cpp.

For each case this writes tests/models/data/transformer/<case>/:
  config.json        rotor TransformerConfig
  model.safetensors  parameters (F32; the reference uses the same values in float64)
  reference.safetensors  ids, targets [B, T] (I32), logits [B, T, V], loss [1], and "grad.<name>" per parameter (F64)
Run: /usr/bin/python3 tests/models/make_transformer_reference.py
"""
import json, math, os, struct
import torch

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))

CASES = {
    # GPT style: LayerNorm, GELU, RoPE half-split, biases, untied head, grouped-query attention
    "gpt_rope_gqa": dict(layers=2, dim=16, heads=4, kv_heads=2, ctx=8, vocab=11, norm="layernorm", mlp="gelu",
                         pos="rope", tied_head=False, bias=True, rope_layout="half_split", rope_fraction=1.0, T=8),
    # LLaMA style: RMSNorm, SwiGLU, interleaved partial RoPE, no biases, tied head, multi-query, T < ctx
    "llama_swiglu_mqa": dict(layers=2, dim=16, heads=2, kv_heads=1, ctx=8, vocab=13, norm="rmsnorm", mlp="swiglu",
                             pos="rope", tied_head=True, bias=False, rope_layout="interleaved", rope_fraction=0.5, T=6),
    # learned absolute positions, GELU tanh form
    "learned_pos": dict(layers=1, dim=12, heads=3, kv_heads=3, ctx=6, vocab=9, norm="layernorm", mlp="gelu_tanh",
                        pos="learned", tied_head=False, bias=True, rope_layout="half_split", rope_fraction=1.0, T=6),
    # attention width != dim (explicit head_dim), linear RoPE context scaling
    "headdim_linear_rope": dict(layers=1, dim=16, heads=2, kv_heads=1, ctx=8, vocab=10, norm="rmsnorm", mlp="swiglu",
                                pos="rope", tied_head=False, bias=False, rope_layout="half_split", rope_fraction=1.0, T=7,
                                head_dim=6, rope_scaling={"type": "linear", "factor": 2.0}),
    # fixed sinusoidal positions, GeGLU
    "sinusoidal_geglu": dict(layers=1, dim=8, heads=2, kv_heads=2, ctx=5, vocab=7, norm="layernorm", mlp="geglu",
                             pos="sinusoidal", tied_head=False, bias=True, rope_layout="half_split", rope_fraction=1.0, T=5),
    # BERT-style encoder (`rotor train --objective mlm`): no causal mask, learned positions, masked-LM loss over
    # the chosen positions only (token vocab - 1 is [MASK]; targets -100 elsewhere)
    "encoder_mlm": dict(layers=2, dim=12, heads=3, kv_heads=3, ctx=9, vocab=11, norm="layernorm", mlp="gelu",
                        pos="learned", tied_head=False, bias=True, rope_layout="half_split", rope_fraction=1.0, T=9,
                        causal=False, masked_lm=True),
}
B = 2


def hidden(c):
    if c["mlp"] in ("swiglu", "geglu"):
        h = (8 * c["dim"]) // 3
        return (h + 63) // 64 * 64
    return 4 * c["dim"]


def head_dim(c):
    return c.get("head_dim", c["dim"] // c["heads"])


def param_shapes(c):
    C, Dh = c["dim"], head_dim(c)
    W, Hd = (c["heads"] + 2 * c["kv_heads"]) * Dh, hidden(c)
    F = 2 * Hd if c["mlp"] in ("swiglu", "geglu") else Hd
    ln = c["norm"] == "layernorm"
    shapes = [("wte", (c["vocab"], C))]
    if c["pos"] == "learned":
        shapes.append(("wpe", (c["ctx"], C)))
    for l in range(c["layers"]):
        p = f"layers.{l}."
        shapes.append((p + "norm1.weight", (C,)))
        if ln: shapes.append((p + "norm1.bias", (C,)))
        shapes.append((p + "attn.qkv.weight", (W, C)))
        if c["bias"]: shapes.append((p + "attn.qkv.bias", (W,)))
        shapes.append((p + "attn.out.weight", (C, c["heads"] * Dh)))
        if c["bias"]: shapes.append((p + "attn.out.bias", (C,)))
        shapes.append((p + "norm2.weight", (C,)))
        if ln: shapes.append((p + "norm2.bias", (C,)))
        shapes.append((p + "mlp.up.weight", (F, C)))
        if c["bias"]: shapes.append((p + "mlp.up.bias", (F,)))
        shapes.append((p + "mlp.down.weight", (C, Hd)))
        if c["bias"]: shapes.append((p + "mlp.down.bias", (C,)))
    shapes.append(("norm_f.weight", (C,)))
    if ln: shapes.append(("norm_f.bias", (C,)))
    if not c["tied_head"]:
        shapes.append(("head.weight", (c["vocab"], C)))
    return shapes


def rope(x, c, T):  # x: [B, heads, T, Dh]
    Dh = x.shape[-1]
    rot = int(math.floor(Dh * c["rope_fraction"])) // 2 * 2
    half = rot // 2
    inv = 1.0 / (10000.0 ** (torch.arange(0, half, dtype=torch.float64) * 2 / rot))
    if "rope_scaling" in c:  # linear position interpolation
        assert c["rope_scaling"]["type"] == "linear"
        inv = inv / c["rope_scaling"]["factor"]
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    cos, sin = ang.cos(), ang.sin()
    xr, rest = x[..., :rot], x[..., rot:]
    if c["rope_layout"] == "half_split":
        x1, x2 = xr[..., :half], xr[..., half:]
        out = torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)
    else:
        x1, x2 = xr[..., 0::2], xr[..., 1::2]
        out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1).flatten(-2)
    return torch.cat([out, rest], -1)


def forward(c, P, ids):
    Bn, T = ids.shape
    C, H, KV = c["dim"], c["heads"], c["kv_heads"]
    Dh, Hd = head_dim(c), hidden(c)
    G = H // KV

    def norm(x, w, b):
        if c["norm"] == "layernorm":
            return torch.nn.functional.layer_norm(x, (C,), w, b, 1e-5)
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-5) * w

    def act(x):
        if c["mlp"] in ("gelu", "geglu"): return torch.nn.functional.gelu(x)
        if c["mlp"] == "gelu_tanh": return torch.nn.functional.gelu(x, approximate="tanh")
        return torch.nn.functional.silu(x)

    x = P["wte"][ids]
    if c["pos"] == "learned":
        x = x + P["wpe"][:T]
    if c["pos"] == "sinusoidal":
        pos = torch.arange(T, dtype=torch.float64)[:, None]
        i2 = (torch.arange(C) // 2 * 2).to(torch.float64)
        ang = pos / (10000.0 ** (i2 / C))
        pe = torch.where(torch.arange(C) % 2 == 0, ang.sin(), ang.cos())
        x = x + pe
    for l in range(c["layers"]):
        p = f"layers.{l}."
        h = norm(x, P[p + "norm1.weight"], P.get(p + "norm1.bias"))
        qkv = torch.nn.functional.linear(h, P[p + "attn.qkv.weight"], P.get(p + "attn.qkv.bias"))
        q = qkv[..., : H * Dh].view(Bn, T, H, Dh).transpose(1, 2)
        k = qkv[..., H * Dh:(H + KV) * Dh].view(Bn, T, KV, Dh).transpose(1, 2)
        v = qkv[..., (H + KV) * Dh:].view(Bn, T, KV, Dh).transpose(1, 2)
        if c["pos"] == "rope":
            q, k = rope(q, c, T), rope(k, c, T)
        k = k.repeat_interleave(G, dim=1)
        v = v.repeat_interleave(G, dim=1)
        s = q @ k.transpose(-1, -2) / math.sqrt(Dh)
        if c.get("causal", True):
            s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        y = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(Bn, T, H * Dh)
        x = x + torch.nn.functional.linear(y, P[p + "attn.out.weight"], P.get(p + "attn.out.bias"))
        h = norm(x, P[p + "norm2.weight"], P.get(p + "norm2.bias"))
        u = torch.nn.functional.linear(h, P[p + "mlp.up.weight"], P.get(p + "mlp.up.bias"))
        a = act(u[..., :Hd]) * u[..., Hd:] if c["mlp"] in ("swiglu", "geglu") else act(u)
        x = x + torch.nn.functional.linear(a, P[p + "mlp.down.weight"], P.get(p + "mlp.down.bias"))
    x = norm(x, P["norm_f.weight"], P.get("norm_f.bias"))
    head = P["wte"] if c["tied_head"] else P["head.weight"]
    return x @ head.t()


def mask_tokens(tokens, mask_id, g):
    """BERT's rule: each token chosen with probability 0.15 (at least one per batch); a chosen token becomes
    [MASK] (0.8), a random ordinary token (0.1) or stays (0.1). Returns (inputs, targets with -100 where not
    chosen)."""
    chosen = torch.rand(tokens.shape, generator=g) < 0.15
    chosen.view(-1)[0] = True
    u = torch.rand(tokens.shape, generator=g)
    random = torch.randint(mask_id, tokens.shape, generator=g)
    inputs = torch.where(chosen & (u < 0.8), torch.full_like(tokens, mask_id), tokens)
    inputs = torch.where(chosen & (u >= 0.8) & (u < 0.9), random, inputs)
    return inputs, torch.where(chosen, tokens, torch.full_like(tokens, -100))


def write_safetensors(path, tensors):  # name -> (dtype string, shape, bytes)
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        dt, shape, data = tensors[name]
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def f32(t): return ("F32", tuple(t.shape), t.to(torch.float32).contiguous().numpy().tobytes())
def f64(t): return ("F64", tuple(t.shape), t.to(torch.float64).contiguous().numpy().tobytes())
def i32(t): return ("I32", tuple(t.shape), t.to(torch.int32).contiguous().numpy().tobytes())


def main():
    for case_i, (name, c) in enumerate(CASES.items()):
        g = torch.Generator().manual_seed(1000 + case_i)
        P = {}
        for pname, shape in param_shapes(c):
            if pname.endswith("norm1.weight") or pname.endswith("norm2.weight") or pname == "norm_f.weight":
                t = 1.0 + 0.1 * torch.randn(shape, generator=g)
            else:
                t = 0.3 * torch.randn(shape, generator=g)
            P[pname] = t.to(torch.float32).to(torch.float64).requires_grad_(True)  # exactly representable in f32
        ids = torch.randint(c["vocab"], (B, c["T"]), generator=g)
        targets = torch.randint(c["vocab"], (B, c["T"]), generator=g)
        if c.get("masked_lm"):
            ids, targets = mask_tokens(ids % (c["vocab"] - 1), c["vocab"] - 1, g)
        logits = forward(c, P, ids)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, c["vocab"]), targets.reshape(-1), ignore_index=-100)
        loss.backward()
        out = os.path.join(HERE, "data", "transformer", name)
        os.makedirs(out, exist_ok=True)
        cfg = {k: v for k, v in c.items() if k not in ("T", "causal", "masked_lm")}
        cfg["model"] = "rotor-transformer"
        cfg["mlp_hidden"] = hidden(c)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        write_safetensors(os.path.join(out, "model.safetensors"), {k: f32(v.detach()) for k, v in P.items()})
        ref = {"ids": i32(ids), "targets": i32(targets), "logits": f64(logits.detach()), "loss": f64(loss.detach().reshape(1))}
        for k, v in P.items():
            ref["grad." + k] = f64(v.grad)
        write_safetensors(os.path.join(out, "reference.safetensors"), ref)
        print(name, "loss", loss.item())


if __name__ == "__main__":
    main()
