"""PyTorch side of packages/vit/bench/vit.bench.mjs: DeiT-Tiny at 32 px (patch 4, dim 192, depth 12, 3 heads),
batch 32, one thread. Times a training step (forward + cross-entropy + backward + AdamW step) and inference
images/s; prints JSON. Usage: /usr/bin/python3 tools/bench/vit.py [train_steps] [infer_batches]
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../reference/vit"))
from vit_reference import ViT  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
infer = int(sys.argv[2]) if len(sys.argv) > 2 else 5
B = 32
model = ViT(img=32, patch=4, in_chans=3, classes=10, dim=192, depth=12, heads=3)
opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.05)
x = torch.randn(B, 3, 32, 32)
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
    model(x)
    t0 = time.perf_counter()
    for _ in range(infer):
        model(x)
    infer_s = (time.perf_counter() - t0) / infer
print(json.dumps({
    "backend": "torch-1-thread",
    "torch": torch.__version__,
    "params": sum(p.numel() for p in model.parameters()),
    "trainStepMs": train_ms,
    "inferImagesPerSec": B / infer_s,
}))
