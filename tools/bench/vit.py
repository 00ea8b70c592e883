"""PyTorch side of packages/vit/bench/vit.bench.mjs: a ViT training step (forward + cross-entropy + backward + AdamW
step) and inference images/s; prints JSON. Default model: DeiT-Tiny at 32 px (patch 4, dim 192, depth 12, 3 heads),
batch 32, one thread. Usage: /usr/bin/python3 tools/bench/vit.py [train_steps] [infer_batches]
[--threads T] [--model deit|d64|d192] (d64: 28×28×1, patch 4, dim 64, depth 4, 4 heads, batch 64; d192: the same
with dim 192, depth 6, 3 heads).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../reference/vit"))
from vit_reference import ViT  # noqa: E402

args = sys.argv[1:]
threads = 1
name = "deit"
if "--threads" in args:
    i = args.index("--threads")
    threads = int(args[i + 1])
    del args[i : i + 2]
if "--model" in args:
    i = args.index("--model")
    name = args[i + 1]
    del args[i : i + 2]
MODELS = {
    "deit": dict(img=32, patch=4, in_chans=3, dim=192, depth=12, heads=3, batch=32),
    "d64": dict(img=28, patch=4, in_chans=1, dim=64, depth=4, heads=4, batch=64),
    "d192": dict(img=28, patch=4, in_chans=1, dim=192, depth=6, heads=3, batch=64),
}
cfg = MODELS[name]
torch.set_num_threads(threads)
torch.manual_seed(0)
steps = int(args[0]) if len(args) > 0 else 5
infer = int(args[1]) if len(args) > 1 else 5
B = cfg["batch"]
model = ViT(
    img=cfg["img"], patch=cfg["patch"], in_chans=cfg["in_chans"], classes=10, dim=cfg["dim"], depth=cfg["depth"],
    heads=cfg["heads"],
)
opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.05)
x = torch.randn(B, cfg["in_chans"], cfg["img"], cfg["img"])
y = torch.randint(0, 10, (B,))


def step():
    opt.zero_grad(set_to_none=True)
    logits, _, _ = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    opt.step()
    return float(loss)


model.train()
step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
train_ms = (time.perf_counter() - t0) / steps * 1000

model.eval()
with torch.no_grad():
    infer_s = None
    if infer > 0:
        model(x)
        t0 = time.perf_counter()
        for _ in range(infer):
            model(x)
        infer_s = (time.perf_counter() - t0) / infer
print(json.dumps({
    "backend": f"torch-{threads}-thread",
    "model": name,
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
    "params": sum(p.numel() for p in model.parameters()),
    "trainStepMs": train_ms,
    "inferImagesPerSec": B / infer_s if infer_s else None,
}))
