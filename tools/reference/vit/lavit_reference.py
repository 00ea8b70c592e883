"""Reference LaViT (arXiv 2406.00427; no official code) for @distillery/vit parity.

Implements exactly the choices documented in packages/vit/src/lavit/lavit.ts, written independently in torch:
VA layers A = softmax(QK^T/sqrt(d)); LA layers A^l = Psi(Theta(A^{l-1})^T)^T with nn.Linear(N, N, bias=False),
Z = softmax(A^l) V; residual attention downsampling gamma * DWConv(A_last^{s-1}) (kernel = stride = N_{s-1}/N_s)
added to the first VA map of a stage; patch-merging downsample conv 2x2/2 + LN; mean-pooled head; and the
Diagonality Preserving loss sum_ij |A_ij - A_ji| + sum_i ((N-1) A_ii - sum_{j!=i} A_ij), averaged over batch*heads.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import dump, flat, nhwc, rounded_input, write_safetensors

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/vit/test/fixtures")


class Mlp(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, h), nn.Linear(h, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Attn(nn.Module):
    def __init__(self, dim, heads, n, kind):
        super().__init__()
        self.heads, self.kind, self.scale = heads, kind, (dim // heads) ** -0.5
        if kind == "va":
            self.qkv = nn.Linear(dim, 3 * dim)
        else:
            self.v = nn.Linear(dim, dim)
            self.theta = nn.Linear(n, n, bias=False)
            self.psi = nn.Linear(n, n, bias=False)
        self.proj = nn.Linear(dim, dim)


class Block(nn.Module):
    def __init__(self, dim, heads, n, kind):
        super().__init__()
        self.kind, self.heads = kind, heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attn(dim, heads, n, kind)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def split(self, t):
        B, N, C = t.shape
        return t.reshape(B, N, self.heads, C // self.heads).transpose(1, 2)

    def forward(self, x, chain, residual):
        h = self.norm1(x)
        a = self.attn
        transformed = None
        if self.kind == "va":
            q, k, v = a.qkv(h).chunk(3, dim=-1)
            prob = ((self.split(q) * a.scale) @ self.split(k).transpose(-2, -1)).softmax(-1)
            if residual is not None:
                prob = prob + residual
            new_chain = prob
            v = self.split(v)
        else:
            new_chain = a.psi(a.theta(chain).transpose(-2, -1)).transpose(-2, -1)
            transformed = new_chain.softmax(-1)
            prob = transformed
            v = self.split(a.v(h))
        B, N, C = x.shape
        z = a.proj((prob @ v).transpose(1, 2).reshape(B, N, C))
        x = x + z
        x = x + self.mlp(self.norm2(x))
        return x, new_chain, prob, transformed


class Downsample(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.proj = nn.Conv2d(i, o, 2, 2)
        self.norm = nn.LayerNorm(o, eps=1e-6)


class AttnDown(nn.Module):
    def __init__(self, heads, k):
        super().__init__()
        self.conv = nn.Conv2d(heads, heads, k, k, groups=heads)
        self.gamma = nn.Parameter(torch.full((heads,), 1e-5))


class Stage(nn.Module):
    def __init__(self, s, dims, heads, va, la, n):
        super().__init__()
        if s > 0:
            self.downsample = Downsample(dims[s - 1], dims[s])
        self.blocks = nn.ModuleList([Block(dims[s], heads[s], n, "va" if i < va[s] else "la")
                                     for i in range(va[s] + la[s])])


class LaViT(nn.Module):
    def __init__(self, img, patch, classes, dims, heads, va, la):
        super().__init__()
        g0 = img // patch
        self.grids = [g0 // 2 ** s for s in range(len(dims))]
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, dims[0], patch, patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, g0 * g0, dims[0]))
        self.stages = nn.ModuleList([Stage(s, dims, heads, va, la, self.grids[s] ** 2) for s in range(len(dims))])
        self.attn_down = nn.ModuleList([AttnDown(heads[s], self.grids[s - 1] ** 2 // self.grids[s] ** 2)
                                        for s in range(1, len(dims))])
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.head = nn.Linear(dims[-1], classes)

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2) + self.pos_embed
        la_maps, last = [], None
        for s, stage in enumerate(self.stages):
            residual = None
            if s > 0:
                B, N, C = x.shape
                g = self.grids[s - 1]
                grid = x.transpose(1, 2).reshape(B, C, g, g)
                x = stage.downsample.norm(stage.downsample.proj(grid).flatten(2).transpose(1, 2))
                ad = self.attn_down[s - 1]
                residual = ad.conv(last) * ad.gamma[None, :, None, None]
            chain = None
            for i, blk in enumerate(stage.blocks):
                x, chain, prob, transformed = blk(x, chain, residual if i == 0 else None)
                last = prob
                if transformed is not None:
                    la_maps.append(transformed)
        return self.head(self.norm(x).mean(1)), la_maps


def dp_loss(maps):
    total = 0
    for a in maps:
        B, H, N, _ = a.shape
        sym = (a - a.transpose(-2, -1)).abs().sum((-2, -1))
        diag = torch.diagonal(a, dim1=-2, dim2=-1).sum(-1)
        off = a.sum((-2, -1)) - diag
        total = total + (sym + (N - 1) * diag - off).sum() / (B * H)
    return total


def to_export(model):
    """State dict under the TS names (attn_down.k.conv/gamma -> stages.s.attn_downsample.*)."""
    sd = {}
    for k, v in model.state_dict().items():
        if k.startswith("attn_down."):
            _, i, rest = k.split(".", 2)
            s = int(i) + 1
            name = {"conv.weight": "weight", "conv.bias": "bias", "gamma": "gamma"}[rest]
            sd[f"stages.{s}.attn_downsample.{name}"] = v
        else:
            sd[k] = v
    return sd


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(11)
    cfg = dict(img=16, patch=2, classes=4, dims=[8, 16], heads=[2, 2], va=[1, 1], la=[2, 1])
    model = LaViT(**cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "theta" in name or "psi" in name:
                p.copy_(torch.eye(p.shape[0]) + 0.05 * torch.randn(p.shape, generator=gen))
            elif "gamma" in name:
                p.copy_(0.5 + 0.1 * torch.randn(p.shape, generator=gen))
            elif "norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen) if p.dim() < 2 else p)
    write_safetensors(os.path.join(OUT, "lavit_tiny.safetensors"), to_export(model))
    model = model.double()
    x = rounded_input((2, 3, 16, 16), gen).requires_grad_(True)
    labels = torch.tensor([1, 3])
    logits, maps = model(x)
    dp = dp_loss(maps)
    loss = F.cross_entropy(logits, labels) + 0.01 * dp
    params = dict(model.named_parameters())
    names = ["stages.0.blocks.1.attn.theta.weight", "stages.0.blocks.2.attn.psi.weight", "attn_down.0.conv.weight",
             "attn_down.0.gamma", "stages.1.blocks.0.attn.qkv.weight"]
    grads = torch.autograd.grad(loss, [x] + [params[n] for n in names])
    export_names = {"attn_down.0.conv.weight": "stages.1.attn_downsample.weight",
                    "attn_down.0.gamma": "stages.1.attn_downsample.gamma"}
    dump(os.path.join(OUT, "lavit_tiny.json"), {
        "config": cfg,
        "input": nhwc(x),
        "labels": [1, 3],
        "logits": flat(logits),
        "laMap0Head0": flat(maps[0][0, 0]),
        "laMapLast": flat(maps[-1]),
        "numLaMaps": len(maps),
        "dpLoss": float(dp),
        "loss": float(loss),
        "inputGrad": nhwc(grads[0]),
        "paramGrads": {export_names.get(n, n): {"shape": list(params[n].shape), "values": flat(g)}
                       for n, g in zip(names, grads[1:])},
    })


if __name__ == "__main__":
    main()
