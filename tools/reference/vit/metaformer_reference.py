"""Reference MetaFG_Meta (MetaFormer with meta tokens, arXiv 2203.02751) for @distillery/vit parity.

Transcribed from the official code of Diao et al., "MetaFormer: A Unified Meta Framework for Fine-Grained
Recognition" (arXiv 2203.02751): dqshuai/MetaFormer @669bf18 (the model files last changed in 4a3ad95):
models/MetaFG_meta.py (MetaFG_Meta, make_blocks, _init_weights), models/MBConv.py (MBConvBlock, SE convs with
bias=True and PyTorch's default bias init), models/MHSA.py (Relative_Attention, OverlapPatchEmbed, MHSABlock),
models/meta_encoder.py (ResNormLayer), data/dataset_fg.py (get_temporal_info / get_spatial_info): conv stem, MBConv stages, relative-position attention stages with
[cls, meta..., patches] tokens (index zero-padded for extra tokens), meta encoders Linear-ReLU-LN-ResNormLayer,
two-class-token aggregation Conv1d(2,1,1), LayerNorm eps 1e-5. A tiny config keeps the fixture small.
"""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import dump, flat, nhwc, rounded_input, write_safetensors

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/vit/test/fixtures")


class ResNormLayer(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.norm_fn1 = nn.LayerNorm(n)
        self.norm_fn2 = nn.LayerNorm(n)
        self.w1 = nn.Linear(n, n)
        self.w2 = nn.Linear(n, n)

    def forward(self, x):
        y = self.norm_fn1(F.relu(self.w1(x)))
        y = self.norm_fn2(F.relu(self.w2(y)))
        return x + y


def meta_head(d, c):
    return nn.Sequential(nn.Linear(d, c), nn.ReLU(), nn.LayerNorm(c), ResNormLayer(c))


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class MBConv(nn.Module):
    def __init__(self, inp, out, expand, stride):
        super().__init__()
        oup = inp * expand
        self.stride, self.inp, self.out = stride, inp, out
        self._expand_conv = nn.Conv2d(inp, oup, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(oup, momentum=0.1, eps=0.01)
        self._depthwise_conv = nn.Conv2d(oup, oup, 3, stride, 1, groups=oup, bias=False)
        self._bn1 = nn.BatchNorm2d(oup, momentum=0.1, eps=0.01)
        sq = max(1, int(inp * 0.25))
        self._se_reduce = nn.Conv2d(oup, sq, 1)
        self._se_expand = nn.Conv2d(sq, oup, 1)
        self._project_conv = nn.Conv2d(oup, out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out, momentum=0.1, eps=0.01)
        self.sw = Swish()

    def forward(self, inputs):
        x = self.sw(self._bn0(self._expand_conv(inputs)))
        x = self.sw(self._bn1(self._depthwise_conv(x)))
        s = self._se_expand(self.sw(self._se_reduce(F.adaptive_avg_pool2d(x, 1))))
        x = self._bn2(self._project_conv(torch.sigmoid(s) * x))
        if self.stride == 1 and self.inp == self.out:
            x = x + inputs
        return x


class RelAttn(nn.Module):
    def __init__(self, dim, size, extra, heads):
        super().__init__()
        self.heads, self.size, self.extra = heads, size, extra
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * size - 1) ** 2 + 1, heads))
        coords = torch.stack(torch.meshgrid([torch.arange(size), torch.arange(size)], indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += size - 1
        rel[:, :, 1] += size - 1
        rel[:, :, 0] *= 2 * size - 1
        idx = F.pad(rel.sum(-1), (extra, 0, extra, 0)).long()
        self.register_buffer("relative_position_index", idx)
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
        attn = (attn + bias.permute(2, 0, 1).unsqueeze(0)).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class PatchEmbed(nn.Module):
    def __init__(self, inp, out):
        super().__init__()
        self.proj = nn.Conv2d(inp, out, 3, 2, 1)
        self.norm = nn.LayerNorm(out)

    def forward(self, x):
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


class Mlp(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.fc1 = nn.Linear(i, h)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(h, o)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class MHSABlock(nn.Module):
    def __init__(self, inp, out, size, stride, heads, extra, ratio=4.0):
        super().__init__()
        self.patch_embed = PatchEmbed(inp, out) if stride != 1 else None
        size = size // 2 if stride != 1 else size
        self.norm1 = nn.LayerNorm(out)
        self.attn = RelAttn(out, size, extra, heads)
        self.norm2 = nn.LayerNorm(out)
        self.mlp = Mlp(out, int(out * ratio), out)

    def forward(self, x, extra_tokens=None):
        if self.patch_embed is not None:
            x = self.patch_embed(x)
            x = torch.cat([t.expand(x.shape[0], -1, -1) for t in extra_tokens] + [x], dim=1)
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class MetaFGMeta(nn.Module):
    def __init__(self, img, classes, conv_dims, attn_dims, conv_depths, attn_depths, heads, meta_dims):
        super().__init__()
        self.img, self.attn_dims, self.meta_dims = img, attn_dims, meta_dims
        self.extra = 1 + len(meta_dims)
        for i, d in enumerate(meta_dims):
            setattr(self, f"meta_{i + 1}_head_1", meta_head(d, attn_dims[0]))
            setattr(self, f"meta_{i + 1}_head_2", meta_head(d, attn_dims[1]))
        s0, s1 = 3 * (conv_dims[0] // 4), conv_dims[0]
        self.stage_0 = nn.Sequential(
            nn.Conv2d(3, s0, 3, 2, 1, bias=False), nn.BatchNorm2d(s0), nn.ReLU(),
            nn.Conv2d(s0, s1, 3, 1, 1, bias=False), nn.BatchNorm2d(s1), nn.ReLU(),
            nn.Conv2d(s1, conv_dims[0], 3, 1, 1, bias=False))
        self.bn1 = nn.BatchNorm2d(conv_dims[0])
        depths = list(conv_depths) + list(attn_depths)
        dims = list(conv_dims) + list(attn_dims)

        def mb(stage):
            return nn.ModuleList([MBConv(dims[stage - 1] if b == 0 else dims[stage], dims[stage], 4,
                                         2 if b == 0 and stage != 1 else 1) for b in range(depths[stage])])

        def mh(stage, size):
            return nn.ModuleList([MHSABlock(dims[stage - 1] if b == 0 else dims[stage], dims[stage],
                                            size if b == 0 else size // 2, 2 if b == 0 else 1, heads, self.extra)
                                  for b in range(depths[stage])])

        self.stage_1 = mb(1)
        self.stage_2 = mb(2)
        self.cls_token_1 = nn.Parameter(torch.zeros(1, 1, attn_dims[0]))
        self.stage_3 = mh(3, img // 8)
        self.cls_token_2 = nn.Parameter(torch.zeros(1, 1, attn_dims[1]))
        self.stage_4 = mh(4, img // 16)
        self.norm_2 = nn.LayerNorm(attn_dims[1])
        self.cl_1_fc = nn.Sequential(Mlp(attn_dims[0], attn_dims[0], attn_dims[1]), nn.LayerNorm(attn_dims[1]))
        self.aggregate = nn.Conv1d(2, 1, 1)
        self.norm = nn.LayerNorm(attn_dims[1])
        self.norm_1 = nn.LayerNorm(attn_dims[0])
        self.head = nn.Linear(attn_dims[1], classes)

    def forward(self, x, meta):
        B = x.shape[0]
        e1, e2 = [self.cls_token_1], [self.cls_token_2]
        metas = torch.split(meta, self.meta_dims, dim=1) if len(self.meta_dims) > 1 else (meta,)
        for i, m in enumerate(metas):
            e1.append(getattr(self, f"meta_{i + 1}_head_1")(m).reshape(B, -1, self.attn_dims[0]))
            e2.append(getattr(self, f"meta_{i + 1}_head_2")(m).reshape(B, -1, self.attn_dims[1]))
        x = F.max_pool2d(F.relu(self.bn1(self.stage_0(x))), 3, 2, 1)
        for blk in list(self.stage_1) + list(self.stage_2):
            x = blk(x)
        for i, blk in enumerate(self.stage_3):
            x = blk(x, e1) if i == 0 else blk(x)
        cls_1 = self.cl_1_fc(self.norm_1(x[:, :1, :]))
        x = x[:, self.extra:, :]
        h1 = self.img // 16
        x = x.reshape(B, h1, h1, -1).permute(0, 3, 1, 2).contiguous()
        for i, blk in enumerate(self.stage_4):
            x = blk(x, e2) if i == 0 else blk(x)
        cls_2 = self.norm_2(x[:, :1, :])
        cls = self.norm(self.aggregate(torch.cat((cls_1, cls_2), dim=1)).squeeze(1))
        return self.head(cls)


def get_temporal_info(month, hour):
    if month is None:
        return [0, 0, 0, 0]
    xm, ym = math.sin(2 * math.pi * month / 12), math.cos(2 * math.pi * month / 12)
    if hour is None:
        return [xm, ym, 0, 0]
    return [xm, ym, math.sin(2 * math.pi * hour / 24), math.cos(2 * math.pi * hour / 24)]


def get_spatial_info(latitude, longitude):
    if latitude and longitude:
        la, lo = math.radians(latitude), math.radians(longitude)
        return [math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)]
    return [0, 0, 0]


def main():
    gen = torch.Generator().manual_seed(7)
    cfg = dict(img=32, classes=5, conv_dims=[8, 8, 16], attn_dims=[16, 32], conv_depths=[1, 1, 1],
               attn_depths=[1, 2], heads=2, meta_dims=[4, 3])
    model = MetaFGMeta(**cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bn" in name or "norm" in name or name.startswith("stage_0.1") or name.startswith("stage_0.4"):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen) if p.dim() < 2 or "token" in name
                        or "table" in name else p)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))
    write_safetensors(os.path.join(OUT, "metaformer_tiny.safetensors"), model.state_dict())
    model = model.double()
    x = rounded_input((2, 3, 32, 32), gen).requires_grad_(True)
    encodings = [
        dict(month=3, hour=14, latitude=47.5, longitude=-122.3),
        dict(month=11, hour=None, latitude=0.0, longitude=30.0),
        dict(month=None, hour=5, latitude=-33.9, longitude=151.2),
    ]
    metas = [get_temporal_info(e["month"], e["hour"]) + get_spatial_info(e["latitude"], e["longitude"])
             for e in encodings]
    meta = torch.tensor(metas[:2], dtype=torch.float64).to(torch.float32).double().requires_grad_(True)
    labels = torch.tensor([1, 3])
    model.eval()
    with torch.no_grad():
        eval_logits = model(x, meta)
    model.train()
    logits = model(x, meta)
    loss = F.cross_entropy(logits, labels)
    grad_names = ["meta_1_head_1.0.weight", "meta_2_head_2.3.w2.weight", "stage_3.0.attn.relative_position_bias_table",
                  "aggregate.weight", "stage_1.0._depthwise_conv.weight", "cls_token_2"]
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss, [x, meta] + [params[n] for n in grad_names])
    dump(os.path.join(OUT, "metaformer_tiny.json"), {
        "config": cfg,
        "input": nhwc(x),
        "meta": {"shape": list(meta.shape), "values": flat(meta)},
        "encodings": [{"input": e, "meta": m} for e, m in zip(encodings, metas)],
        "labels": [1, 3],
        "evalLogits": flat(eval_logits),
        "trainLogits": flat(logits),
        "loss": float(loss),
        "inputGrad": nhwc(grads[0]),
        "metaGrad": flat(grads[1]),
        "paramGrads": {n: {"shape": list(params[n].shape), "values": flat(g)} for n, g in zip(grad_names, grads[2:])},
    })


if __name__ == "__main__":
    main()
