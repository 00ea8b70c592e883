"""PyTorch side of the ResNet rows of packages/vit/bench/vit.bench.mjs (`--resnet`): one training step (forward in
train mode, cross-entropy, backward; no optimizer step) of a ResNet, median ms; prints JSON.

Models: `cifar` is the CIFAR ResNet with option-A shortcuts of tools/reference/vit/resnet_reference.py (LDAM-DRW
models/resnet_cifar.py) with blocks [1, 1, 1], widths [16, 32, 64], NormedLinear (cosine) head, 1 input channel,
28x28, batch 64; `r18` is torchvision's resnet18 (10 classes) on 32x32x3, batch 32.
Usage: /usr/bin/python3 tools/bench/resnet.py [steps] [--threads T] [--model cifar|r18]
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../reference/vit"))
from resnet_reference import ResNetCifar  # noqa: E402

args = sys.argv[1:]
threads = 1
name = "cifar"
if "--threads" in args:
    i = args.index("--threads")
    threads = int(args[i + 1])
    del args[i : i + 2]
if "--model" in args:
    i = args.index("--model")
    name = args[i + 1]
    del args[i : i + 2]
steps = int(args[0]) if args else 5
torch.set_num_threads(threads)
torch.manual_seed(0)
if name == "cifar":
    model = ResNetCifar([1, 1, 1], [16, 32, 64], 10, cosine=True)
    model.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
    x = torch.randn(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))
else:
    from torchvision.models import resnet18

    model = resnet18(num_classes=10)
    x = torch.randn(32, 3, 32, 32)
    y = torch.randint(0, 10, (32,))
model.train()


def step():
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return float(loss)


step()
times = []
for _ in range(steps):
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({
    "model": name,
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
    "trainStepMs": statistics.median(times),
}))
