"""Reference MFT (Multimodal Fusion Transformer, Roy et al., TGRS 2023, arXiv 2203.16952) transcribed from the
official notebook AnkurDeria/MFT Model/MFT.ipynb @de214e5 (the notebook last changed in 151eeaa; classes HetConv,
MCrossAttention, Mlp, Block, TransformerEncoder, MFT, pixel tokenization) for
@distillery/vit parity: the HSI/LiDAR conv tokenizers and token learners, MCrossAttention blocks (CLS-only query,
per-head Linear(hd -> C) projections, output broadcast onto all tokens), LN eps 1e-6, out3 head.
Written from the notebook's module semantics (einsum replaced by matmul); tiny sizes (patch 5, 12 bands, MLP 32).
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import dump, flat, rounded_input, write_safetensors

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/vit/test/fixtures")


class HetConv(nn.Module):
    def __init__(self, cin, cout, p, g):
        super().__init__()
        self.gwc = nn.Conv2d(cin, cout, 3, groups=g, padding=1)
        self.pwc = nn.Conv2d(cin, cout, 1, groups=p)

    def forward(self, x):
        return self.gwc(x) + self.pwc(x)


class MCrossAttention(nn.Module):
    def __init__(self, dim, heads, drop):
        super().__init__()
        self.heads = heads
        hd = dim // heads
        self.scale = hd ** -0.5
        self.wq = nn.Linear(hd, dim, bias=False)
        self.wk = nn.Linear(hd, dim, bias=False)
        self.wv = nn.Linear(hd, dim, bias=False)
        self.proj = nn.Linear(dim * heads, dim)
        self.proj_drop = nn.Dropout(drop)

    def forward(self, x):
        B, N, C = x.shape
        H = self.heads
        q = self.wq(x[:, 0:1].reshape(B, 1, H, C // H)).permute(0, 2, 1, 3)
        k = self.wk(x.reshape(B, N, H, C // H)).permute(0, 2, 1, 3)
        v = self.wv(x.reshape(B, N, H, C // H)).permute(0, 2, 1, 3)
        attn = (q @ k.transpose(-2, -1) * self.scale).softmax(-1)
        x = (attn @ v).transpose(1, 2).reshape(B, 1, C * H)
        return self.proj_drop(self.proj(x))


class Mlp(nn.Module):
    def __init__(self, dim, hidden, drop):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(drop)

    def forward(self, x):
        return self.dropout(self.fc2(self.dropout(F.gelu(self.fc1(x)))))


class Block(nn.Module):
    def __init__(self, dim, heads, hidden, drop):
        super().__init__()
        self.attention_norm = nn.LayerNorm(dim, eps=1e-6)
        self.ffn_norm = nn.LayerNorm(dim, eps=1e-6)
        self.ffn = Mlp(dim, hidden, drop)
        self.attn = MCrossAttention(dim, heads, drop)

    def forward(self, x):
        x = self.attn(self.attention_norm(x)) + x
        return self.ffn(self.ffn_norm(x)) + x


class Encoder(nn.Module):
    def __init__(self, dim, heads, hidden, depth, drop):
        super().__init__()
        self.layer = nn.ModuleList([Block(dim, heads, hidden, drop) for _ in range(depth)])
        self.encoder_norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):
        for blk in self.layer:
            x = blk(x)
        return self.encoder_norm(x)[:, 0]


class MFT(nn.Module):
    def __init__(self, FM, NC, NCL, classes, patch, hidden, drop=0.0, heads=8, depth=2):
        super().__init__()
        self.patch = patch
        dim = FM * 4
        self.conv5 = nn.Sequential(nn.Conv3d(1, 8, (9, 3, 3), padding=(0, 1, 1)), nn.BatchNorm3d(8), nn.ReLU())
        cin = 8 * (NC - 8)
        self.conv6 = nn.Sequential(HetConv(cin, dim, p=1, g=dim // 4 if cin % FM == 0 else dim // 8),
                                   nn.BatchNorm2d(dim), nn.ReLU())
        self.lidarConv = nn.Sequential(nn.Conv2d(NCL, dim, 3, 1, 1), nn.BatchNorm2d(dim), nn.GELU())
        self.ca = Encoder(dim, heads, hidden, depth, drop)
        self.out3 = nn.Linear(dim, classes)
        self.position_embeddings = nn.Parameter(torch.randn(1, 5, dim))
        self.dropout = nn.Dropout(drop)
        self.token_wA = nn.Parameter(torch.randn(1, 4, dim))
        self.token_wV = nn.Parameter(torch.randn(1, dim, dim) * 0.1)
        self.token_wA_L = nn.Parameter(torch.randn(1, 1, dim))
        self.token_wV_L = nn.Parameter(torch.randn(1, dim, dim) * 0.1)

    def forward(self, x1, x2):
        p = self.patch
        x1 = x1.reshape(x1.shape[0], -1, p, p).unsqueeze(1)
        x2 = x2.reshape(x2.shape[0], -1, p, p)
        x1 = self.conv5(x1)
        x1 = x1.reshape(x1.shape[0], -1, p, p)
        x1 = self.conv6(x1)
        x2 = self.lidarConv(x2)
        x2 = x2.reshape(x2.shape[0], -1, p * p).transpose(-1, -2)
        A_L = (x2 @ self.token_wA_L[0].t()).transpose(1, 2).softmax(-1)
        x2 = A_L @ (x2 @ self.token_wV_L[0])
        x1 = x1.flatten(2).transpose(-1, -2)
        A = (x1 @ self.token_wA[0].t()).transpose(1, 2).softmax(-1)
        T = A @ (x1 @ self.token_wV[0])
        x = torch.cat((x2, T), dim=1) + self.position_embeddings
        x = self.ca(self.dropout(x))
        return self.out3(x.reshape(x.shape[0], -1))


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(21)
    cfg = dict(FM=16, NC=12, NCL=2, classes=3, patch=5, hidden=32, heads=2)
    model = MFT(**cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".1.weight" in name or "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif ".1.bias" in name or "norm" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))
    write_safetensors(os.path.join(OUT, "mft_tiny.safetensors"), model.state_dict())
    model = model.double()
    B, p = 3, cfg["patch"]
    hsi = rounded_input((B, cfg["NC"], p, p), gen).requires_grad_(True)
    lidar = rounded_input((B, cfg["NCL"], p, p), gen).requires_grad_(True)
    labels = torch.tensor([0, 2, 1])
    model.eval()
    with torch.no_grad():
        ev = model(hsi.reshape(B, cfg["NC"], -1), lidar.reshape(B, cfg["NCL"], -1))
    model.train()
    logits = model(hsi.reshape(B, cfg["NC"], -1), lidar.reshape(B, cfg["NCL"], -1))
    loss = F.cross_entropy(logits, labels)
    params = dict(model.named_parameters())
    names = ["conv5.0.weight", "conv6.0.gwc.weight", "token_wA", "ca.layer.1.attn.wq.weight", "position_embeddings"]
    grads = torch.autograd.grad(loss, [hsi, lidar] + [params[n] for n in names])
    nhwc = lambda t: {"shape": list(t.permute(0, 2, 3, 1).shape), "values": flat(t.permute(0, 2, 3, 1))}
    dump(os.path.join(OUT, "mft_tiny.json"), {
        "config": cfg,
        "hsi": nhwc(hsi),
        "lidar": nhwc(lidar),
        "labels": [0, 2, 1],
        "evalLogits": flat(ev),
        "trainLogits": flat(logits),
        "loss": float(loss),
        "hsiGrad": nhwc(grads[0]),
        "lidarGrad": nhwc(grads[1]),
        "paramGrads": {n: {"shape": list(params[n].shape), "values": flat(g)} for n, g in zip(names, grads[2:])},
    })


if __name__ == "__main__":
    main()
