"""Reference ViT/DeiT for @distillery/vit parity (run with /usr/bin/python3; torch 1.13, no timm).

Transcribed from the official code (not from our TypeScript):
- huggingface/pytorch-image-models @aa4b5850: timm/layers/attention.py (Attention), timm/layers/mlp.py (Mlp),
  timm/models/vision_transformer.py (Block, LayerScale,
  VisionTransformer._pos_embed / forward_head; the file last changed in 2cff2350), timm/layers/patch_embed.py
  (PatchEmbed), timm/models/deit.py (VisionTransformerDistilled: dist_token, head_dist, (x + x_dist) / 2 at eval);
- facebookresearch/deit @1d38fa4 models.py (DistilledVisionTransformer, the same distilled head).
ViT: arXiv 2010.11929; DeiT: arXiv 2012.12877 (section 4, the distillation token).
The modules: pre-norm blocks, LN eps 1e-6, exact GELU,
qkv Linear(D, 3D) split as reshape(B, N, 3, H, hd), cls (+dist) tokens, pos_embed, head / head_dist.
Weights are random (float32), saved with a hand-written safetensors writer; outputs and gradients are computed in
float64 from the same float32 weights and written as JSON fixtures.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import dump, flat, nhwc, rounded_input, write_safetensors

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/vit/test/fixtures")


class Attention(nn.Module):
    def __init__(self, dim, heads, qkv_bias=True):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        self.last_attn = attn
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class LayerScale(nn.Module):
    def __init__(self, dim, init_values):
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=4.0, init_values=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.ls1 = LayerScale(dim, init_values) if init_values else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim, init_values) if init_values else nn.Identity()

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, patch, in_chans, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ViT(nn.Module):
    def __init__(self, img, patch, in_chans, classes, dim, depth, heads, distilled=False, init_values=None):
        super().__init__()
        self.patch_embed = PatchEmbed(patch, in_chans, dim)
        n = (img // patch) ** 2
        self.distilled = distilled
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        if distilled:
            self.dist_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, n + (2 if distilled else 1), dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, init_values=init_values) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)
        if distilled:
            self.head_dist = nn.Linear(dim, classes)

    def forward(self, x, collect=()):
        x = self.patch_embed(x)
        B = x.shape[0]
        prefix = [self.cls_token.expand(B, -1, -1)]
        if self.distilled:
            prefix.append(self.dist_token.expand(B, -1, -1))
        x = torch.cat(prefix + [x], dim=1) + self.pos_embed
        feats = {}
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if i in collect:
                feats[i] = x
        x = self.norm(x)
        cls = self.head(x[:, 0])
        if self.distilled:
            return cls, self.head_dist(x[:, 1]), feats
        return cls, None, feats


def perturb(model, gen):
    """Random, non-trivial values for every parameter (LN and LayerScale included)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = 0.3 if name.endswith("bias") or "norm" in name or "ls" in name else 0.2
            base = 1.0 if ("norm" in name and name.endswith("weight")) else 0.0
            p.copy_(base + scale * torch.randn(p.shape, generator=gen))
            p.copy_(p.to(torch.float32))


def case(name, cfg, batch, seed):
    gen = torch.Generator().manual_seed(seed)
    model = ViT(**cfg)
    perturb(model, gen)
    write_safetensors(os.path.join(OUT, f"{name}.safetensors"), model.state_dict())
    model = model.double()
    x = rounded_input((batch, cfg["in_chans"], cfg["img"], cfg["img"]), gen).requires_grad_(True)
    labels = torch.randint(0, cfg["classes"], (batch,), generator=gen)
    collect = (0,)
    cls, dist, feats = model(x, collect)
    if dist is not None:
        loss = 0.5 * F.cross_entropy(cls, labels) + 0.5 * F.cross_entropy(dist, labels.flip(0))
        logits = (cls + dist) / 2
    else:
        loss = F.cross_entropy(cls, labels)
        logits = cls
    params = dict(model.named_parameters())
    grad_names = ["patch_embed.proj.weight", "pos_embed", "blocks.0.attn.qkv.weight", "cls_token"]
    grads = torch.autograd.grad(loss, [x] + [params[n] for n in grad_names])
    out = {
        "config": cfg,
        "input": nhwc(x),
        "labels": [int(v) for v in labels],
        "logits": flat(logits),
        "clsLogits": flat(cls),
        "distLogits": flat(dist) if dist is not None else None,
        "block0": flat(feats[0]),
        "attn0": flat(model.blocks[0].attn.last_attn),
        "loss": float(loss),
        "inputGrad": nhwc(grads[0]),
        "paramGrads": {n: {"shape": list(params[n].shape), "values": flat(g)} for n, g in zip(grad_names, grads[1:])},
    }
    dump(os.path.join(OUT, f"{name}.json"), out)


if __name__ == "__main__":
    torch.manual_seed(0)
    case("deit_distilled_tiny",
         dict(img=8, patch=2, in_chans=3, classes=5, dim=24, depth=2, heads=3, distilled=True), batch=2, seed=1)
    case("vit_layerscale_tiny",
         dict(img=8, patch=4, in_chans=2, classes=4, dim=16, depth=1, heads=2, init_values=0.5), batch=3, seed=2)
