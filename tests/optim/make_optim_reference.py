"""Reference trajectories for tests/optim/optimizers_test.cpp from torch.optim (PyTorch 1.13).
Writes tests/optim/data/optim_reference.json. Run: /usr/bin/python3 tests/optim/make_optim_reference.py"""
import json, os
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
g = torch.Generator().manual_seed(7)
n, steps = 10, 4
p0 = torch.randn(n, generator=g, dtype=torch.float64).float()
grads = [torch.randn(n, generator=g, dtype=torch.float64).float() for _ in range(steps)]

cases = {
    "adamw": (torch.optim.AdamW, dict(lr=0.01, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)),
    "adam_l2": (torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    "sgd_momentum": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0)),
    "sgd_plain": (torch.optim.SGD, dict(lr=0.5)),
}
out = {"initial": p0.tolist(), "grads": [x.tolist() for x in grads], "cases": {}}
for name, (cls, kw) in cases.items():
    p = torch.nn.Parameter(p0.clone())
    opt = cls([p], **kw)
    traj = []
    for s in range(steps):
        p.grad = grads[s].clone()
        opt.step()
        traj.append(p.detach().tolist())
    kw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}
    out["cases"][name] = {"options": kw, "trajectory": traj}

# global-norm clipping
gr = [torch.randn(5, generator=g, dtype=torch.float64).float(), torch.randn(7, generator=g, dtype=torch.float64).float() * 3]
ps = [torch.nn.Parameter(torch.zeros_like(x)) for x in gr]
for p, x in zip(ps, gr): p.grad = x.clone()
norm = torch.nn.utils.clip_grad_norm_(ps, max_norm=2.0)
out["clip"] = {"grads": torch.cat(gr).tolist(), "max_norm": 2.0, "norm": norm.item(), "clipped": torch.cat([p.grad for p in ps]).tolist()}
with open(os.path.join(HERE, "data", "optim_reference.json"), "w") as f:
    json.dump(out, f, indent=1)
print("wrote", len(cases), "optimizer cases")
