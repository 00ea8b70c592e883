"""Reference LaViT for @distillery/vit parity: a SELF-CONSISTENCY CHECK, not a transcription.

LaViT ("You Only Need Less Attention at Each Stage in Vision Transformers", Zhang, Liu, Lin, He; CVPR 2024,
arXiv 2406.00427) has no official code, so there is nothing to transcribe. This script re-implements, independently
and in torch (float64), exactly the choices documented in packages/vit/src/lavit/lavit.ts, which follow the paper's
method section (Sec. 3: Less-Attention, Residual-based Attention Downsampling, Diagonality Preserving Loss). Matching
it shows that the TypeScript code computes what its documentation says; it cannot show that the documentation
matches the authors' unpublished code.

- VA layers: A = softmax(QK^T / sqrt(d)); LA layers: A^l = Psi(Theta(A^{l-1})^T)^T with nn.Linear(N, N, bias=False),
  Z = softmax(A^l) V (or A^l V with la_softmax=False); the chain starts from the stage's last VA map.
- Residual attention downsampling: the previous stage's last map (the one its last layer attended with) is pooled
  over exactly the 2x2 windows the patch-merging conv combines, on the query and the key axis: rows and columns are
  reordered window by window, then a kernel = stride = 4 conv (depth-wise when the head counts agree, dense from
  H_{s-1} to H_s heads otherwise), scaled by a per-head gamma, is added to the next stage's first VA map.
- Patch merging: conv 2x2 / stride 2 + LN; mean-pooled head.
- Diagonality Preserving loss: sum_ij |A_ij - A_ji| - sum_i ((N-1) A_ii - sum_{j!=i} A_ij) per map and head (the
  dominance term subtracted, so a more diagonal map has a lower loss), averaged over batch*heads, summed over maps.

Run with Debian's /usr/bin/python3 (torch 1.13): writes lavit_tiny.{json,safetensors} (heads [2, 2], depth-wise
residual conv) and lavit_heads.{json,safetensors} (heads [1, 2], dense residual conv) under packages/vit/test/fixtures.
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
    def __init__(self, dim, heads, n, kind, la_softmax):
        super().__init__()
        self.kind, self.heads, self.la_softmax = kind, heads, la_softmax
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attn(dim, heads, n, kind)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def heads_of(self, t):
        B, N, C = t.shape
        return t.view(B, N, self.heads, C // self.heads).permute(0, 2, 1, 3)

    def forward(self, x, chain, residual):
        """Returns the new tokens, the map the next LA layer transforms, and the map this layer attended with."""
        a = self.attn
        h = self.norm1(x)
        if self.kind == "va":
            q, k, v = (self.heads_of(t) for t in a.qkv(h).chunk(3, dim=-1))
            used = torch.softmax(q @ k.transpose(-2, -1) * a.scale, dim=-1)
            if residual is not None:
                used = used + residual
            chain = used
        else:
            # Theta on the key axis, Psi on the query axis.
            chain = a.psi(a.theta(chain).transpose(-2, -1)).transpose(-2, -1)
            used = torch.softmax(chain, dim=-1) if self.la_softmax else chain
            v = self.heads_of(a.v(h))
        B, N, C = x.shape
        x = x + a.proj((used @ v).permute(0, 2, 1, 3).reshape(B, N, C))
        x = x + self.mlp(self.norm2(x))
        return x, chain, used


def window_order(g):
    """Position 4*w + 2*(r%2) + (c%2) holds old token r*g + c; w = (r//2)*(g//2) + c//2 is the merged token."""
    order = [0] * (g * g)
    for r in range(g):
        for c in range(g):
            order[4 * ((r // 2) * (g // 2) + c // 2) + 2 * (r % 2) + (c % 2)] = r * g + c
    return torch.tensor(order)


class AttnDown(nn.Module):
    def __init__(self, h_in, h_out, g_prev):
        super().__init__()
        groups = h_in if h_in == h_out else 1
        self.conv = nn.Conv2d(h_in, h_out, 4, 4, groups=groups)
        self.gamma = nn.Parameter(torch.full((h_out,), 1e-5))
        self.register_buffer("order", window_order(g_prev), persistent=False)

    def forward(self, last):
        m = last.index_select(2, self.order).index_select(3, self.order)
        return self.conv(m) * self.gamma[None, :, None, None]


class Downsample(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.proj = nn.Conv2d(i, o, 2, 2)
        self.norm = nn.LayerNorm(o, eps=1e-6)


class Stage(nn.Module):
    def __init__(self, s, dims, heads, va, la, n, la_softmax):
        super().__init__()
        if s > 0:
            self.downsample = Downsample(dims[s - 1], dims[s])
        self.blocks = nn.ModuleList([Block(dims[s], heads[s], n, "va" if i < va[s] else "la", la_softmax)
                                     for i in range(va[s] + la[s])])


class LaViT(nn.Module):
    def __init__(self, img, patch, classes, dims, heads, va, la, la_softmax=True):
        super().__init__()
        g0 = img // patch
        self.grids = [g0 // 2 ** s for s in range(len(dims))]
        self.la_softmax = la_softmax
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, dims[0], patch, patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, g0 * g0, dims[0]))
        self.stages = nn.ModuleList([Stage(s, dims, heads, va, la, self.grids[s] ** 2, la_softmax)
                                     for s in range(len(dims))])
        self.attn_down = nn.ModuleList([AttnDown(heads[s - 1], heads[s], self.grids[s - 1])
                                        for s in range(1, len(dims))])
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.head = nn.Linear(dims[-1], classes)

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2) + self.pos_embed
        la_maps, attentions, last = [], [], None
        for s, stage in enumerate(self.stages):
            residual = None
            if s > 0:
                B, N, C = x.shape
                g = self.grids[s - 1]
                grid = x.transpose(1, 2).reshape(B, C, g, g)
                x = stage.downsample.norm(stage.downsample.proj(grid).flatten(2).transpose(1, 2))
                residual = self.attn_down[s - 1](last)
            chain = None
            for i, blk in enumerate(stage.blocks):
                x, chain, used = blk(x, chain, residual if i == 0 else None)
                last = used
                attentions.append(used)
                if blk.kind == "la":
                    la_maps.append(used)
        return self.head(self.norm(x).mean(1)), la_maps, attentions


def dp_loss(maps, scale=False):
    """The loss; with scale=True, the same sum over |terms| (the size float32 rounding is relative to)."""
    total = 0
    for a in maps:
        B, H, N, _ = a.shape
        sym = (a - a.transpose(-2, -1)).abs().sum((-2, -1))
        diag = torch.diagonal(a, dim1=-2, dim2=-1).sum(-1)
        off = a.sum((-2, -1)) - diag
        if scale:
            total = total + (sym + (N - 1) * diag.abs() + a.abs().sum((-2, -1))).sum() / (B * H)
        else:
            total = total + (sym - ((N - 1) * diag - off)).sum() / (B * H)
    return total


def to_export(model):
    """State dict under the TS names (attn_down.k.conv/gamma -> stages.s.attn_downsample.*)."""
    sd = {}
    for k, v in model.state_dict().items():
        if k.startswith("attn_down."):
            _, i, rest = k.split(".", 2)
            name = {"conv.weight": "weight", "conv.bias": "bias", "gamma": "gamma"}[rest]
            sd[f"stages.{int(i) + 1}.attn_downsample.{name}"] = v
        else:
            sd[k] = v
    return sd


def randomise(model, gen):
    """Weights far from init so every path matters: Theta/Psi near I, gamma ~0.5, LN affine perturbed."""
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


def export_name(n):
    if n.startswith("attn_down."):
        _, i, rest = n.split(".", 2)
        return f"stages.{int(i) + 1}.attn_downsample." + {"conv.weight": "weight", "conv.bias": "bias"}.get(rest, rest)
    return n


def make(name, cfg, grad_names, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 11)
    model = LaViT(**cfg)
    randomise(model, gen)
    write_safetensors(os.path.join(OUT, f"{name}.safetensors"), to_export(model))
    model = model.double()
    x = rounded_input((2, 3, cfg["img"], cfg["img"]), gen).requires_grad_(True)
    labels = torch.tensor([1, 3])
    logits, maps, attentions = model(x)
    dp = dp_loss(maps)
    loss = F.cross_entropy(logits, labels) + 0.01 * dp
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss, [x] + [params[n] for n in grad_names])
    # The same weights attending with A^l itself (laSoftmax: false).
    model.la_softmax = False
    for stage in model.stages:
        for blk in stage.blocks:
            blk.la_softmax = False
    with torch.no_grad():
        logits_raw, maps_raw, _ = model(x)
    dump(os.path.join(OUT, f"{name}.json"), {
        "config": cfg,
        "input": nhwc(x),
        "labels": [1, 3],
        "logits": flat(logits),
        "laMap0Head0": flat(maps[0][0, 0]),
        "laMapLast": flat(maps[-1]),
        "numLaMaps": len(maps),
        "firstVaNextStage": flat(attentions[cfg["va"][0] + cfg["la"][0]]),
        "dpLoss": float(dp),
        "dpScale": float(dp_loss(maps, scale=True)),
        "loss": float(loss),
        "inputGrad": nhwc(grads[0]),
        "paramGrads": {export_name(n): {"shape": list(params[n].shape), "values": flat(g)}
                       for n, g in zip(grad_names, grads[1:])},
        "logitsNoSoftmax": flat(logits_raw),
        "laMapLastNoSoftmax": flat(maps_raw[-1]),
    })


def main():
    common = ["stages.0.blocks.1.attn.theta.weight", "stages.0.blocks.2.attn.psi.weight", "attn_down.0.conv.weight",
              "attn_down.0.conv.bias", "attn_down.0.gamma", "stages.1.blocks.0.attn.qkv.weight"]
    make("lavit_tiny", dict(img=16, patch=2, classes=4, dims=[8, 16], heads=[2, 2], va=[1, 1], la=[2, 1]), common, 0)
    make("lavit_heads", dict(img=16, patch=2, classes=4, dims=[8, 16], heads=[1, 2], va=[1, 1], la=[2, 1]), common, 1)


if __name__ == "__main__":
    main()
