"""PyTorch side of packages/data/bench/pipeline.bench.mjs: batched augmentation of a [128, 3, 32, 32] float32 batch
on one thread, written with plain torch ops the way the recipes apply them (RandomCrop(32, padding=4), horizontal
flip, Cutout(16), colour jitter (brightness/contrast/saturation), rotation ±15° via affine_grid + grid_sample, timm
batch mixup/cutmix). Prints one JSON object {name: ms per batch}. torchvision is not needed.
"""
import json
import math
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)
B, C, H, W = 128, 3, 32, 32
x = torch.rand(B, C, H, W)
y = torch.randint(0, 10, (B,))


def median_ms(fn, warmup=2, repeats=5):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


def random_crop(x, pad=4):
    p = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (B,)).tolist()
    ox = torch.randint(0, 2 * pad + 1, (B,)).tolist()
    return torch.stack([p[i, :, oy[i]:oy[i] + H, ox[i]:ox[i] + W] for i in range(B)])


def flip(x):
    m = (torch.rand(B) < 0.5).view(B, 1, 1, 1)
    return torch.where(m, x.flip(3), x)


def rotation(x, degrees=15.0):
    a = (torch.rand(B) * 2 - 1) * degrees * math.pi / 180
    theta = torch.stack([torch.stack([a.cos(), -a.sin(), torch.zeros(B)], 1),
                         torch.stack([a.sin(), a.cos(), torch.zeros(B)], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode='nearest', padding_mode='zeros', align_corners=False)


def jitter(x):
    gray = lambda t: (0.299 * t[:, 0:1] + 0.587 * t[:, 1:2] + 0.114 * t[:, 2:3])  # noqa: E731
    fb, fc, fs = [torch.empty(B, 1, 1, 1).uniform_(0.6, 1.4) for _ in range(3)]
    t = (x * fb).clamp(0, 1)
    m = gray(t).mean((1, 2, 3), keepdim=True)
    t = (m + fc * (t - m)).clamp(0, 1)
    g = gray(t)
    return (g + fs * (t - g)).clamp(0, 1)


def cutout(x, size=16):
    mask = torch.ones(B, 1, H, W)
    cy = torch.randint(0, H, (B,)).tolist()
    cx = torch.randint(0, W, (B,)).tolist()
    for i in range(B):
        mask[i, :, max(0, cy[i] - size // 2):min(H, cy[i] + size // 2), max(0, cx[i] - size // 2):min(W, cx[i] + size // 2)] = 0
    return x * mask


def mixup_cutmix(x):
    lam = float(torch.distributions.Beta(1.0, 1.0).sample())
    out = x.clone()
    if torch.rand(1).item() < 0.5:
        out = x * lam + x.flip(0) * (1 - lam)
    else:
        r = math.sqrt(1 - lam)
        ch, cw = int(H * r), int(W * r)
        cy, cx = torch.randint(0, H, (1,)).item(), torch.randint(0, W, (1,)).item()
        y1, y2 = max(cy - ch // 2, 0), min(cy + ch // 2, H)
        x1, x2 = max(cx - cw // 2, 0), min(cx + cw // 2, W)
        out[:, :, y1:y2, x1:x2] = x.flip(0)[:, :, y1:y2, x1:x2]
        lam = 1 - (y2 - y1) * (x2 - x1) / (H * W)
    off = 0.1 / 10
    onehot = torch.full((B, 10), off).scatter_(1, y.view(-1, 1), 1 - 0.1 + off)
    return out, lam * onehot + (1 - lam) * onehot.flip(0)


cases = {
    'randomCrop (pad 4)': lambda: random_crop(x),
    'randomHorizontalFlip': lambda: flip(x),
    'randomRotation (15°)': lambda: rotation(x),
    'colorJitter': lambda: jitter(x),
    'cutout (16)': lambda: cutout(x),
    'mixupCutmix': lambda: mixup_cutmix(x),
    'weak view (crop+flip+rotation)': lambda: rotation(flip(random_crop(x))),
}
out = {name: median_ms(fn) for name, fn in cases.items()}
out['version'] = torch.__version__
print(json.dumps(out))
