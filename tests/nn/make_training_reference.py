#!/usr/bin/python3
"""Five AdamW steps of a tiny classifier in PyTorch (float32), the llm.c-style check that rotor's
autograd + nn + optim train the same way. Writes tests/nn/training_reference.json; run with
/usr/bin/python3 tests/nn/make_training_reference.py from the repository root."""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(7)
x = torch.randn(16, 4)
y = torch.randint(0, 3, (16,))
y[3] = -100  # one ignored target

model = torch.nn.ModuleDict({
    "fc1": torch.nn.Linear(4, 8),
    "norm": torch.nn.LayerNorm(8),
    "fc2": torch.nn.Linear(8, 3),
})
with torch.no_grad():  # non-trivial norm parameters
    model["norm"].weight.uniform_(0.5, 1.5)
    model["norm"].bias.uniform_(-0.2, 0.2)
initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
opt = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)

losses = []
for step in range(5):
    h = F.gelu(model["fc1"](x), approximate="tanh")
    logits = model["fc2"](model["norm"](h))
    loss = F.cross_entropy(logits, y, ignore_index=-100, label_smoothing=0.1)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())


def t2j(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


out = {
    "x": t2j(x),
    "y": [int(v) for v in y.tolist()],
    "initial": {k: t2j(v) for k, v in initial.items()},
    "final": {k: t2j(v) for k, v in model.state_dict().items()},
    "losses": losses,
    "lr": 1e-2, "weight_decay": 0.1,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "training_reference.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path, "losses", losses)
