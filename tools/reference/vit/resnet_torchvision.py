"""torchvision ResNet-18/34/50 parity fixtures for @distillery/vit `resnet18`/`resnet34`/`resnet50`.

The models are torchvision's own (official code, not a transcription): torchvision 0.14.1 (Debian
python3-torchvision), torchvision/models/resnet.py (`resnet18`, `resnet34`, `resnet50`: BasicBlock / Bottleneck
v1.5 with the stride on the 3x3 conv, conv1 7x7/2 + maxpool 3x3/2 stem, avgpool, fc), built with num_classes=10.

Fixture size: a real ResNet-18 state dict is 45 MB (ResNet-50: 94 MB), far over the 1 MB a fixture may take, and
torchvision's stage widths (64..512) are fixed, so there is no honest "small" torchvision ResNet. Instead every
tensor of the torchvision state dict is filled by a counter-based hash that the JavaScript test reproduces bit for
bit (`hash_uniform` below, mirrored by `hashUniform` in packages/vit/src/resnet/resnet.test.ts). The fixture stores:
the state dict's names, shapes and dtypes in torchvision's order (the name check), a fingerprint of every tensor
(first values and the sum of absolute values, proving the two generators agree), the eval-mode logits, and for
ResNet-18 one train-mode step (logits, updated running statistics of a few BatchNorms, num_batches_tracked). The
input images come from the same hash. The JS test serialises the generated state dict to safetensors and loads it
through the same path as a checkpoint written by PyTorch. References run in float64.

Why the train step is checked on ResNet-18 only: batch-statistics BatchNorm over a 2-image batch whose deep
feature maps are 1x1 is ill-conditioned with random weights. Running torchvision itself in float32 against float64
gives train-mode logits that differ by 8e-6 (relative to the largest logit) for ResNet-18 at 40x40, but by 2.5e-2
for ResNet-34 and 0.69 for ResNet-50 at 32x32 (still 7e-4 at 64x64), so no float32 implementation could meet 1e-4
there. Eval mode is well conditioned for all three.

Run: /usr/bin/python3 tools/reference/vit/resnet_torchvision.py
"""
import math
import os

import numpy as np
import torch
import torchvision
from torchvision.models import resnet18, resnet34, resnet50

from common import dump, flat, nhwc

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/vit/test/fixtures")
M32 = 0xFFFFFFFF


def fnv1a(name):
    h = 0x811C9DC5
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & M32
    return h


def hash_uniform(name, n):
    """u_i in [0, 1), i = 0..n-1: murmur3's fmix32 of (fnv1a(name) + i * 0x9E3779B1) mod 2^32, top 24 bits / 2^24."""
    i = np.arange(n, dtype=np.uint64)
    h = (np.uint64(fnv1a(name)) + i * np.uint64(0x9E3779B1)) & np.uint64(M32)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(M32)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(M32)
    h ^= h >> np.uint64(16)
    return (h >> np.uint64(8)).astype(np.float64) / 2.0**24


def value_for(name, shape):
    """The deterministic value of one state-dict tensor (float32), in PyTorch (NCHW / OIHW / [out, in]) order."""
    n = int(np.prod(shape)) if len(shape) else 1
    u = hash_uniform(name, n)
    if name.endswith("running_mean"):
        v = 0.2 * (2 * u - 1)
    elif name.endswith("running_var"):
        v = 0.5 + u
    elif len(shape) == 1 and name.endswith("weight"):  # BatchNorm gamma
        v = 0.5 + 0.5 * u
    elif len(shape) == 1:  # BatchNorm beta and the fc bias
        v = 0.1 * (2 * u - 1)
    else:  # conv and fc weights: uniform with the variance of kaiming_normal(fan_in) scaled by 1/2
        fan_in = n // shape[0]
        v = (2 * u - 1) * math.sqrt(1.5 / fan_in)
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def fill(model):
    state = model.state_dict()
    fingerprint = []
    with torch.no_grad():
        for name, t in state.items():
            if name.endswith("num_batches_tracked"):
                t.fill_(7)
                fingerprint.append({"name": name, "shape": [], "dtype": "I64"})
                continue
            v = value_for(name, list(t.shape))
            t.copy_(v)
            flat_v = v.reshape(-1).double()
            fingerprint.append({
                "name": name,
                "shape": list(t.shape),
                "dtype": "F32",
                "first": flat(flat_v[:3]),
                "absSum": float(flat_v.abs().sum()),
            })
    return fingerprint


def case(name, build, size, watch=None):
    model = build(num_classes=10)
    fingerprint = fill(model)
    model = model.double()
    x = torch.from_numpy(value_for("input", [2, 3, size, size]).numpy()).double() * 4 - 2  # pixels in [-2, 2)
    model.eval()
    with torch.no_grad():
        eval_logits = model(x)
    out = {}
    if watch:
        model.train()
        with torch.no_grad():
            train_logits = model(x)
        buffers = dict(model.named_buffers())
        out = {
            "trainLogits": flat(train_logits),
            "runningStats": {
                n: {"mean": flat(buffers[f"{n}.running_mean"]), "var": flat(buffers[f"{n}.running_var"])}
                for n in watch
            },
            "numBatchesTracked": int(buffers[f"{watch[0]}.num_batches_tracked"]),
        }
    dump(os.path.join(OUT, f"{name}_torchvision.json"), {
        "torchvision": torchvision.__version__,
        "torch": torch.__version__,
        "model": name,
        "numClasses": 10,
        "inputShape": [2, size, size, 3],
        "state": fingerprint,
        "evalLogits": flat(eval_logits),
        **out,
    })


if __name__ == "__main__":
    torch.manual_seed(0)
    # 40x40 gives odd feature maps (5 -> 3 -> 2) after the stem, to check the stride-2 padding; 32x32 elsewhere.
    case("resnet18", resnet18, 40, ["bn1", "layer1.0.bn1", "layer3.1.bn2", "layer4.1.bn2", "layer4.0.downsample.1"])
    case("resnet34", resnet34, 32)
    case("resnet50", resnet50, 32)
