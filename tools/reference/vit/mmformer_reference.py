"""MMFormer (Zhang et al., arXiv, 23 March 2023; OpenReview "RsMmFormer") for @distillery/vit: a SELF-CONSISTENCY
check, not a transcription. The authors publish no code, so there is no official file to follow; this script is an
independent PyTorch writing of the design documented in packages/vit/src/mmformer/mmformer.ts, and the fixtures it
writes only show that the tfjs model computes that design (forward values and gradients), not that it matches the
paper's unpublished implementation.

Design: MFT conv tokenizers (see mft_reference.py) -> [cls, HSI pixel tokens, LiDAR pixel tokens] + pos_embed ->
one stage per LiDAR scale, coarse -> fine (avg_pool2d ceil_mode, count_include_pad=False): each stage runs timm
pre-norm blocks over [cls, HSI tokens, pooled LiDAR tokens (+ the previous stage's LiDAR update, upsampled by
nearest neighbour)]; cls and HSI outputs go on to the next stage -> LN(cls) -> head. Dropout 0 here (eval-exact).
Run with Debian's /usr/bin/python3 (torch 1.13) from this folder: python3 mmformer_reference.py
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import dump, flat, rounded_input, write_safetensors
from mft_reference import HetConv

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/vit/test/fixtures")


class Tokenizers(nn.Module):
    def __init__(self, FM, NC, NCL):
        super().__init__()
        dim = 4 * FM
        cin = 8 * (NC - 8)
        self.conv5 = nn.Sequential(nn.Conv3d(1, 8, (9, 3, 3), padding=(0, 1, 1)), nn.BatchNorm3d(8), nn.ReLU())
        self.conv6 = nn.Sequential(HetConv(cin, dim, p=1, g=dim // 4 if cin % FM == 0 else dim // 8),
                                   nn.BatchNorm2d(dim), nn.ReLU())
        self.lidarConv = nn.Sequential(nn.Conv2d(NCL, dim, 3, 1, 1), nn.BatchNorm2d(dim), nn.GELU())


class Attention(nn.Module):
    """timm Attention: qkv Linear(D, 3D) with bias, softmax(q k^T / sqrt(hd)) v, proj."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1) * (C // self.heads) ** -0.5).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, h), nn.Linear(h, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Stage(nn.Module):
    def __init__(self, dim, heads, depth):
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])


class MMFormer(nn.Module):
    def __init__(self, FM, NC, NCL, classes, patch, heads, depth, scales):
        super().__init__()
        dim = 4 * FM
        self.patch, self.scales = patch, scales
        self.tokenizer = Tokenizers(FM, NC, NCL)
        self.cls_token = nn.Parameter(0.02 * torch.randn(1, 1, dim))
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, 1 + 2 * patch * patch, dim))
        self.stages = nn.ModuleList([Stage(dim, heads, depth) for _ in scales])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, hsi, lidar):
        B, p = hsi.shape[0], self.patch
        t = self.tokenizer
        x1 = t.conv5(hsi.unsqueeze(1))
        x1 = t.conv6(x1.reshape(B, -1, p, p)).flatten(2).transpose(1, 2)
        x2 = t.lidarConv(lidar).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(B, -1, -1), x1, x2], 1) + self.pos_embed
        n = 1 + p * p
        z = x[:, :n]
        grid = x[:, n:].transpose(1, 2).reshape(B, -1, p, p)  # LiDAR tokens as an NCHW map
        update, prev = None, None
        for stage, s in zip(self.stages, self.scales):
            pooled = F.avg_pool2d(grid, s, s, ceil_mode=True, count_include_pad=False) if s > 1 else grid
            if update is not None:
                # nearest-neighbour upsampling of the previous (coarser) stage's update onto this grid
                r = prev // s
                up = update.repeat_interleave(r, 2).repeat_interleave(r, 3)[:, :, : pooled.shape[2], : pooled.shape[3]]
                pooled = pooled + up
            lk = pooled.flatten(2).transpose(1, 2)
            y = torch.cat([z, lk], 1)
            for blk in stage.blocks:
                y = blk(y)
            z = y[:, :n]
            update = (y[:, n:] - lk).transpose(1, 2).reshape(B, -1, pooled.shape[2], pooled.shape[3])
            prev = s
        return self.head(self.norm(z[:, 0]))


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(31)
    cfg = dict(FM=4, NC=12, NCL=1, classes=3, patch=5, heads=4, depth=1, scales=[4, 2, 1])
    model = MMFormer(**cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".1.weight" in name or ("norm" in name and name.endswith("weight")):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif ".1.bias" in name or "norm" in name or "token" in name or "pos" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))
    write_safetensors(os.path.join(OUT, "mmformer_tiny.safetensors"), model.state_dict())
    model = model.double()
    B, p = 3, cfg["patch"]
    hsi = rounded_input((B, cfg["NC"], p, p), gen).requires_grad_(True)
    lidar = rounded_input((B, cfg["NCL"], p, p), gen).requires_grad_(True)
    labels = torch.tensor([2, 0, 1])
    model.eval()
    with torch.no_grad():
        ev = model(hsi, lidar)
    model.train()
    logits = model(hsi, lidar)
    loss = F.cross_entropy(logits, labels)
    params = dict(model.named_parameters())
    names = ["stages.0.blocks.0.attn.qkv.weight", "stages.2.blocks.0.mlp.fc1.weight", "pos_embed",
             "tokenizer.conv6.0.pwc.weight"]
    grads = torch.autograd.grad(loss, [hsi, lidar] + [params[n] for n in names])
    nhwc = lambda t: {"shape": list(t.permute(0, 2, 3, 1).shape), "values": flat(t.permute(0, 2, 3, 1))}
    x = torch.arange(2 * 5 * 5 * 3, dtype=torch.float64).reshape(2, 3, 5, 5)
    pool = F.avg_pool2d(x, 2, 2, ceil_mode=True, count_include_pad=False)
    dump(os.path.join(OUT, "mmformer_tiny.json"), {
        "config": cfg,
        "hsi": nhwc(hsi),
        "lidar": nhwc(lidar),
        "labels": [2, 0, 1],
        "evalLogits": flat(ev),
        "trainLogits": flat(logits),
        "loss": float(loss),
        "hsiGrad": nhwc(grads[0]),
        "lidarGrad": nhwc(grads[1]),
        "paramGrads": {n: {"shape": list(params[n].shape), "values": flat(g)} for n, g in zip(names, grads[2:])},
        "pool": {"input": nhwc(x), "output": nhwc(pool)},
    })


if __name__ == "__main__":
    main()
